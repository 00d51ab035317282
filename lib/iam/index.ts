/**
 * The IAM statements more than one construct grants, one file per concern:
 * every task role that sends commands, reads command output, touches the
 * backup bucket or publishes alerts gets them from here.
 */
export { grantAlertPublish } from './alert-topic';
export { acknowledgePrefix, denyDeletes, denyOverwrites, grantReadCommandOutput, listPrefixes, objectAccess, useBackupKey } from './backup-bucket-access';
export { hostInstancePolicy } from './host-instance-policy';
export type { RolePolicyHolder } from './role-policy';
export { grantCancelCommand, grantSendCommand, type SendCommandGrant } from './send-command';
