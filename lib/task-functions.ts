import { Arn, ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { BeginRunEnv, CompleteBackupEnv, FinishRunEnv, PrepareBackupEnv, RecordStepEnv, SendStepEnv } from '../lambdas/shared/env';
import { DEADLINE_GRACE_SECONDS, DELIVERY_TIMEOUT_SECONDS, LEASE_TTL } from '../state-machines/step-timeouts';
import type { BackupBucket } from './backup-bucket';
import { FleetwaveFunction } from './fleetwave-function';
import type { HostDocuments } from './host-documents';
import { acknowledgePrefix, grantAlertPublish, grantSendCommand, objectAccess, useBackupKey } from './iam';
import { acknowledge, nagArn, wildcardResource } from './nag';
import type { RegistryDatabase } from './registry-database';

export interface TaskFunctionsProps {
  readonly backups: BackupBucket;
  readonly documents: HostDocuments;
  readonly registry: RegistryDatabase;
  readonly alerts: ITopic;
  /** Tag key every managed host carries; SendCommand is allowed only on tagged instances. */
  readonly fleetTagKey: string;
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
  readonly prepareBackup: FleetwaveFunction;
  readonly completeBackup: FleetwaveFunction;
  /** The registry tasks of FleetRollout, RolloutBatch and RolloutRollback. */
  readonly rollout: FleetwaveFunction;

  constructor(scope: Construct, id: string, props: TaskFunctionsProps) {
    super(scope, id);
    const { backups, documents, registry } = props;
    const bucket = backups.bucket;
    const vpcProps = registry.clientNetwork();
    // every registry task knows the lease TTL: begin-run grants it, run-events renews it
    const registryEnv = { ...registry.clientEnvironment(), LEASE_TTL_SECONDS: String(LEASE_TTL.toSeconds()) };
    const s3Env = { BACKUP_BUCKET: bucket.bucketName };

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
    grantAlertPublish(props.alerts, this.finishRun);
    grantAlertPublish(props.alerts, this.rollout);

    this.sendStep = new FleetwaveFunction(this, 'SendStep', {
      handlerDir: 'send-step',
      description: 'fleetwave: send one host step as an SSM command, never twice',
      environmentSchema: SendStepEnv,
      environment: {
        ...registryEnv,
        ...s3Env,
        DOCUMENT_PREFIX: documents.prefix,
        DOCUMENT_VERSIONS: documents.versionsEnvironment(),
        OUTPUT_BUCKET: bucket.bucketName,
        DELIVERY_TIMEOUT_SECONDS: String(DELIVERY_TIMEOUT_SECONDS),
        DEADLINE_GRACE_SECONDS: String(DEADLINE_GRACE_SECONDS),
      },
      // it records each step's task token in the registry (step_waits)
      ...vpcProps,
    });
    registry.grantConnect(this.sendStep);
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

    // ── begin-run: a restore child proves its parent started it by reading the parent's history
    // (core/host-run/parent-proof.ts). The machines' names are generated by CloudFormation and
    // naming them here would be circular (they reference this function), hence execution:*.
    this.beginRun.addToRolePolicy(
      new PolicyStatement({
        sid: 'ReadParentExecutionHistory',
        actions: ['states:GetExecutionHistory'],
        resources: [Arn.format({ service: 'states', resource: 'execution', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }, Stack.of(this))],
      }),
    );
    acknowledge(
      this.beginRun,
      [wildcardResource(`${nagArn(this, 'states')}execution:*`)],
      'begin-run reads the history of the execution that claims to have started a restore child (proof of the lease holder); the state machine names are generated and cannot be referenced without a cycle.',
    );

    // ── SSM: only fleetwave's documents, only on instances carrying the fleet tag
    grantSendCommand(this.sendStep, {
      documentsSid: 'SendFleetwaveDocuments',
      documentArns: [documents.documentArnPattern()],
      instancesSid: 'SendToTaggedInstancesOnly',
      fleetTagKey: props.fleetTagKey,
    });
    acknowledge(
      this.sendStep,
      [wildcardResource(`${nagArn(this, 'ssm')}document/${documents.prefix}*`)],
      'SendCommand is limited to the fleetwave document name prefix: one document per host step.',
    );
    this.sendStep.addToRolePolicy(
      new PolicyStatement({ sid: 'FindEarlierCommand', actions: ['ssm:ListCommands'], resources: ['*'] }),
    );
    // preflight reads the host's SSM Agent version first (core/host-steps/agent-version.ts);
    // DescribeInstanceInformation takes no resource ARN (Service Authorization Reference, list_awssystemsmanager.html)
    this.sendStep.addToRolePolicy(
      new PolicyStatement({ sid: 'ReadAgentVersion', actions: ['ssm:DescribeInstanceInformation'], resources: ['*'] }),
    );

    // ── S3: object-level actions on the two prefixes, never delete ────────────
    // send-step only names bucket and keys: hosts sign their transfers with their own role
    this.prepareBackup.addToRolePolicy(objectAccess('StartBackupUpload', ['s3:PutObject'], bucket, 'backups'));
    this.completeBackup.addToRolePolicy(
      // GetObject for HeadObject (size, checksums), never to read a backup whole;
      // tagging an unverified backup (core/backup-storage/mark-unverified.ts): a version needs PutObjectVersionTagging too
      objectAccess(
        'CompleteAndVerifyBackup',
        ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:PutObjectTagging', 's3:PutObjectVersionTagging'],
        bucket,
        'backups',
      ),
    );
    const bucketUsers = [this.prepareBackup, this.completeBackup];
    for (const fn of bucketUsers) fn.addToRolePolicy(useBackupKey(backups.key));
    // SSM writes command output with the instance profile of each host; the
    // host's role needs s3:PutObject on command-output/ (documented in README).
    backups.denyDeletesBy(bucketUsers.map((f) => f.role!));
    backups.denyOverwritesBy(bucketUsers.map((f) => f.role!));

    for (const fn of [this.prepareBackup, this.completeBackup]) {
      acknowledgePrefix(
        fn,
        bucket,
        'backups',
        'Object-level access to the backups/ prefix of the one backup bucket: keys are made per host and run at run time. Delete is denied by the bucket policy.',
      );
    }
  }
}
