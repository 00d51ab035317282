/** Host steps over SSM: parameters, the CommandRunner port and its adapter, send and poll. */
export * from './agent-version';
export * from './errors';
export * from './parameters';
export * from './ports';
export * from './send-step';
export * from './poll-step';
export * from './transfers';
export { deployedVersion, SsmCommandRunner, type DocumentVersions } from './ssm-command-runner';
export { S3CommandOutputReader, keyFromOutputUrl } from './s3-command-output';
export * from './step-waits';
export { SfnTaskCallbacks } from './sfn-task-callbacks';
