import { hostStepSuite } from './suite';

hostStepSuite('external');
