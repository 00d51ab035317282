/** What the operator API's routes work with: the registry, the workflows, and the state machines they start. */
import type { RegistryStore } from '../registry/store';
import type { StateMachineArns, Workflows } from './workflows';

export interface ApiDeps {
  store: RegistryStore;
  workflows: Workflows;
  stateMachines: StateMachineArns;
  /** Origins whose pages may send actions (the deployed console's); an action from any other origin is refused. */
  allowedOrigins: string[];
  now?: () => Date;
}
