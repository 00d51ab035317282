/** Version-parity compliance: model, pure rules, the check's tasks, ports and AWS adapters. */
export * from './model';
export * from './evaluate';
export * from './errors';
export * from './ports';
export * from './check';
export * from './finish';
export * from './adapters';
