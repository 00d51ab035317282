/**
 * The registry side of a host run: requests, begin (validate, lease, run
 * row), record each step's outcome and decide what it means, finish
 * (outcome, lease, quarantine, alert) and the operator's summary. Pure over
 * the RegistryStore port and an alert sink, so tests run it against a real
 * PostgreSQL without any AWS.
 */
export * from './errors';
export * from './requests';
export * from './context';
export * from './newer-changes';
export * from './begin';
export * from './record';
export * from './finish';
export * from './summary';
export * from './write-window';
export * from './parent-proof';
export * from './reconcile';
