import { Arn, Duration, Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { CompleteBackupEnv, PollStepEnv, PrepareBackupEnv, SendStepEnv } from '../lambdas/shared/env';
import { BeginRunEnv, FinishRunEnv, RecordStepEnv } from '../lambdas/shared/env';
import type { BackupBucket } from './backup-bucket';
import { FleetwaveFunction } from './fleetwave-function';
import { acknowledge, wildcardAction, wildcardResource, nagArn } from './nag';
import type { HostDocuments } from './host-documents';
import type { RegistryDatabase } from './registry-database';

export interface TaskFunctionsProps {
  readonly backups: BackupBucket;
  readonly documents: HostDocuments;
  readonly registry: RegistryDatabase;
  readonly alerts: ITopic;
  /** Tag key every managed host carries; SendCommand is allowed only on tagged instances. */
  readonly fleetTagKey: string;
  /** Seconds presigned URLs stay valid. */
  readonly presignSeconds?: number;
}

/**
 * The Lambda tasks of the host workflows, each with exactly the permissions
 * its job needs.
 */
export class TaskFunctions extends Construct {
  readonly beginRun: FleetwaveFunction;
  readonly recordStep: FleetwaveFunction;
  readonly finishRun: FleetwaveFunction;
  readonly sendStep: FleetwaveFunction;
  readonly pollStep: FleetwaveFunction;
  readonly prepareBackup: FleetwaveFunction;
  readonly completeBackup: FleetwaveFunction;
  /** The registry tasks of FleetRollout, RolloutBatch and RolloutRollback. */
  readonly rollout: FleetwaveFunction;

  constructor(scope: Construct, id: string, props: TaskFunctionsProps) {
    super(scope, id);
    const { backups, documents, registry } = props;
    const bucket = backups.bucket;
    const stack = Stack.of(this);
    const vpcProps = registry.clientNetwork();
    const registryEnv = registry.clientEnvironment();
    const s3Env = { BACKUP_BUCKET: bucket.bucketName, PRESIGN_SECONDS: String(props.presignSeconds ?? 900) };

    this.beginRun = new FleetwaveFunction(this, 'BeginRun', {
      handlerDir: 'begin-run',
      description: 'fleetwave: validate a host request, take the host lease, create the run',
      environmentSchema: BeginRunEnv,
      environment: registryEnv,
      ...vpcProps,
    });
    this.recordStep = new FleetwaveFunction(this, 'RecordStep', {
      handlerDir: 'record-step',
      description: 'fleetwave: record a host step outcome and classify it',
      environmentSchema: RecordStepEnv,
      environment: registryEnv,
      ...vpcProps,
    });
    this.finishRun = new FleetwaveFunction(this, 'FinishRun', {
      handlerDir: 'finish-run',
      description: 'fleetwave: record a run outcome, release or quarantine the host, alert',
      environmentSchema: FinishRunEnv,
      environment: { ...registryEnv, ALERT_TOPIC_ARN: props.alerts.topicArn },
      ...vpcProps,
    });
    this.rollout = new FleetwaveFunction(this, 'Rollout', {
      handlerDir: 'rollout',
      description: 'fleetwave: plan waves, hand out batches, judge waves, finish rollouts',
      environmentSchema: FinishRunEnv,
      environment: { ...registryEnv, ALERT_TOPIC_ARN: props.alerts.topicArn },
      ...vpcProps,
    });
    for (const fn of [this.beginRun, this.recordStep, this.finishRun, this.rollout]) registry.grantConnect(fn);
    props.alerts.grantPublish(this.finishRun);
    props.alerts.grantPublish(this.rollout);

    this.sendStep = new FleetwaveFunction(this, 'SendStep', {
      handlerDir: 'send-step',
      description: 'fleetwave: send one host step as an SSM command, never twice',
      environmentSchema: SendStepEnv,
      environment: {
        ...s3Env,
        DOCUMENT_PREFIX: documents.prefix,
        OUTPUT_BUCKET: bucket.bucketName,
        DELIVERY_TIMEOUT_SECONDS: '600',
      },
    });
    this.pollStep = new FleetwaveFunction(this, 'PollStep', {
      handlerDir: 'poll-step',
      description: 'fleetwave: read a host step command status and its full output',
      environmentSchema: PollStepEnv,
      environment: { OUTPUT_BUCKET: bucket.bucketName },
    });
    this.prepareBackup = new FleetwaveFunction(this, 'PrepareBackup', {
      handlerDir: 'prepare-backup',
      description: 'fleetwave: start the multipart upload of a host backup',
      environmentSchema: PrepareBackupEnv,
      environment: s3Env,
    });
    this.completeBackup = new FleetwaveFunction(this, 'CompleteBackup', {
      handlerDir: 'complete-backup',
      description: 'fleetwave: complete a backup upload and verify it end to end',
      environmentSchema: CompleteBackupEnv,
      environment: s3Env,
      timeout: Duration.minutes(15),
      memorySize: 1024,
    });

    // ── SSM: only fleetwave's documents, only on instances carrying the fleet tag
    this.sendStep.addToRolePolicy(
      new PolicyStatement({
        sid: 'SendFleetwaveDocuments',
        actions: ['ssm:SendCommand'],
        resources: [documents.documentArnPattern()],
      }),
    );
    this.sendStep.addToRolePolicy(
      new PolicyStatement({
        sid: 'SendToTaggedInstancesOnly',
        actions: ['ssm:SendCommand'],
        resources: [
          Arn.format({ service: 'ec2', resource: 'instance', resourceName: '*' }, stack),
          Arn.format({ service: 'ssm', resource: 'managed-instance', resourceName: '*' }, stack),
        ],
        conditions: { StringLike: { [`ssm:resourceTag/${props.fleetTagKey}`]: '*' } },
      }),
    );
    this.sendStep.addToRolePolicy(
      new PolicyStatement({ sid: 'FindEarlierCommand', actions: ['ssm:ListCommands'], resources: ['*'] }),
    );
    this.pollStep.addToRolePolicy(
      // CancelCommand: a command past its deadline is cancelled (best effort) before the run moves on
      new PolicyStatement({ sid: 'ReadCommandStatus', actions: ['ssm:GetCommandInvocation', 'ssm:CancelCommand'], resources: ['*'] }),
    );

    // ── S3: object-level actions on the two prefixes, never delete ────────────
    const objects = (prefix: string) => bucket.arnForObjects(`${prefix}/*`);
    const allow = (sid: string, actions: string[], resources: string[]) =>
      new PolicyStatement({ sid, effect: Effect.ALLOW, actions, resources });
    // presigned part/config PUTs and restore GETs are signed with send-step's role
    this.sendStep.addToRolePolicy(allow('PresignBackupTransfers', ['s3:PutObject', 's3:GetObject'], [objects('backups')]));
    this.pollStep.addToRolePolicy(allow('ReadCommandOutput', ['s3:GetObject'], [objects('command-output')]));
    this.pollStep.addToRolePolicy(
      new PolicyStatement({
        sid: 'FindCommandOutput',
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': ['command-output/*'] } },
      }),
    );
    this.prepareBackup.addToRolePolicy(allow('StartBackupUpload', ['s3:PutObject'], [objects('backups')]));
    this.completeBackup.addToRolePolicy(
      allow('CompleteAndVerifyBackup', ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'], [objects('backups')]),
    );
    const keyUsers = [this.sendStep, this.pollStep, this.prepareBackup, this.completeBackup];
    for (const fn of keyUsers) {
      fn.addToRolePolicy(allow('UseBackupKey', ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:Encrypt'], [backups.key.keyArn]));
    }
    // SSM writes command output with the instance profile of each host; the
    // host's role needs s3:PutObject on command-output/ (documented in README).

    backups.denyDeletesBy([this.sendStep, this.pollStep, this.prepareBackup, this.completeBackup].map((f) => f.role!));

    acknowledge(
      this.sendStep,
      [
        wildcardResource(`${nagArn(this, 'ssm')}document/${documents.prefix}*`),
        wildcardResource(`${nagArn(this, 'ec2')}instance/*`),
        wildcardResource(`${nagArn(this, 'ssm')}managed-instance/*`),
      ],
      'SendCommand is limited to the fleetwave document name prefix, and to instances whose fleet tag is set (ssm:resourceTag condition); instances join and leave fleets, so they cannot be listed.',
    );
    const bucketArn = `<${Stack.of(this).getLogicalId(bucket.node.defaultChild as never)}.Arn>`;
    for (const fn of [this.sendStep, this.prepareBackup, this.completeBackup]) {
      acknowledge(
        fn,
        [wildcardResource(`${bucketArn}/backups/*`)],
        'Object-level access to the backups/ prefix of the one backup bucket: keys are made per host and run at run time. Delete is denied by the bucket policy.',
      );
    }
    acknowledge(
      this.pollStep,
      [wildcardResource(`${bucketArn}/command-output/*`)],
      'Reads SSM command output under command-output/, whose keys SSM makes per command id.',
    );
    for (const fn of [this.finishRun, this.rollout]) {
      acknowledge(
        fn,
        [wildcardAction('kms:GenerateDataKey*'), wildcardAction('kms:ReEncrypt*')],
        'Publishing to the KMS-encrypted alert topic needs data keys from that one key (CDK grantPublish).',
      );
    }
  }
}
