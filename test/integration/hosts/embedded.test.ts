import { hostStepSuite } from './suite';

hostStepSuite('embedded');
