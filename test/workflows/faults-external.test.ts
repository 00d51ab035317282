/**
 * The HostUpgrade / HostRollback fault matrix with the external database (see
 * faults-suite.ts; the other mode runs in its own file, in parallel).
 */
import { faultMatrix } from './faults-suite';

faultMatrix('external');
