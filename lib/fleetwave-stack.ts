import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { IVpc } from 'aws-cdk-lib/aws-ec2';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { HostRollback } from '../state-machines/host-rollback';
import { HostUpgrade } from '../state-machines/host-upgrade';
import { FleetRollout } from '../state-machines/fleet-rollout';
import { RolloutBatch } from '../state-machines/rollout-batch';
import { RolloutRollback } from '../state-machines/rollout-rollback';
import { AlertTopic } from './alerts';
import { BackupBucket } from './backup-bucket';
import { FleetwaveCompliance } from './compliance';
import { hostInstancePolicy } from './iam';
import { HostDocuments } from './host-documents';
import { FleetwaveMonitoring } from './monitoring';
import { OperatorApi } from './operator-api';
import { acknowledge, managedPolicy, wildcardResource } from './nag';
import { RegistryDatabase } from './registry-database';
import { RunEvents } from './run-events';
import { TaskFunctions } from './task-functions';

export interface FleetwaveStackProps extends StackProps {
  /** Use an existing PostgreSQL (ARN of an RDS-format secret) instead of making Aurora. */
  readonly registrySecretArn?: string;
  readonly vpc?: IVpc;
  /** Tag key that marks a managed host; SendCommand is refused on untagged instances. */
  readonly fleetTagKey?: string;
  /** Prefix of the SSM document names. */
  readonly documentPrefix?: string;
  /** How often the compliance check's inventory commands are polled. */
  readonly pollInterval?: Duration;
  /** EventBridge Scheduler expression of the compliance check (default `rate(1 hour)`). */
  readonly complianceSchedule?: string;
  /** Prefix of the console's Cognito sign-in domain (default `fleetwave-console-<account>`). */
  readonly consoleDomainPrefix?: string;
}

/**
 * fleetwave on AWS: backup bucket, host documents, task functions, registry,
 * alert topic, and the host workflows.
 */
export class FleetwaveStack extends Stack {
  readonly hostUpgrade: HostUpgrade;
  readonly hostRollback: HostRollback;
  readonly fleetRollout: FleetRollout;
  readonly rolloutRollback: RolloutRollback;
  readonly rolloutBatch: RolloutBatch;
  readonly functions: TaskFunctions;
  readonly runEvents: RunEvents;
  readonly backups: BackupBucket;
  readonly alerts: AlertTopic;
  readonly compliance: FleetwaveCompliance;
  readonly operatorApi: OperatorApi;
  readonly monitoring: FleetwaveMonitoring;

  constructor(scope: Construct, id: string, props: FleetwaveStackProps = {}) {
    super(scope, id, props);
    const fleetTagKey = props.fleetTagKey ?? 'fleetwave:fleet';
    this.backups = new BackupBucket(this, 'Backups');
    this.alerts = new AlertTopic(this, 'Alerts');
    const registry = new RegistryDatabase(this, 'Registry', {
      existingSecret: props.registrySecretArn ? Secret.fromSecretCompleteArn(this, 'RegistrySecret', props.registrySecretArn) : undefined,
      vpc: props.vpc,
    });
    const documents = new HostDocuments(this, 'HostDocuments', { prefix: props.documentPrefix ?? 'Fleetwave-' });
    this.functions = new TaskFunctions(this, 'Tasks', {
      backups: this.backups,
      documents,
      registry,
      alerts: this.alerts.topic,
      fleetTagKey,
    });

    const workflowLogs = new LogGroup(this, 'WorkflowLogs', {
      retention: RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.hostRollback = new HostRollback(this, 'HostRollback', {
      functions: this.functions,
      logGroup: workflowLogs,
    });
    this.hostUpgrade = new HostUpgrade(this, 'HostUpgrade', {
      functions: this.functions,
      rollback: this.hostRollback.stateMachine,
      logGroup: workflowLogs,
    });
    // host steps are answered, and unfinished runs finished, from EventBridge
    this.runEvents = new RunEvents(this, 'RunEvents', {
      backups: this.backups,
      documents,
      registry,
      alerts: this.alerts.topic,
      hostMachines: [this.hostUpgrade.stateMachine, this.hostRollback.stateMachine],
    });

    // ── fleets: waves of HostUpgrade children, and their rollback ────────────
    this.rolloutBatch = new RolloutBatch(this, 'RolloutBatch', {
      rolloutFn: this.functions.rollout,
      hostUpgrade: this.hostUpgrade.stateMachine,
      hostRollback: this.hostRollback.stateMachine,
      logGroup: workflowLogs,
    });
    this.rolloutRollback = new RolloutRollback(this, 'RolloutRollback', {
      rolloutFn: this.functions.rollout,
      batch: this.rolloutBatch.stateMachine,
      logGroup: workflowLogs,
    });
    this.fleetRollout = new FleetRollout(this, 'FleetRollout', {
      rolloutFn: this.functions.rollout,
      batch: this.rolloutBatch.stateMachine,
      rolloutRollback: this.rolloutRollback.stateMachine,
      logGroup: workflowLogs,
    });

    // ── compliance: scheduled version-parity checks ────────────────────────────
    this.compliance = new FleetwaveCompliance(this, 'Compliance', {
      backups: this.backups,
      documents,
      registry,
      alerts: this.alerts.topic,
      logGroup: workflowLogs,
      fleetTagKey,
      scheduleExpression: props.complianceSchedule,
      pollInterval: props.pollInterval,
      rollouts: [this.fleetRollout.stateMachine, this.rolloutRollback.stateMachine],
    });

    // ── operators: the API (IAM and console sign-in) and the console ──────────
    this.operatorApi = new OperatorApi(this, 'Operator', {
      registry,
      stateMachines: {
        hostUpgrade: this.hostUpgrade.stateMachine,
        hostRollback: this.hostRollback.stateMachine,
        fleetRollout: this.fleetRollout.stateMachine,
        rolloutRollback: this.rolloutRollback.stateMachine,
        complianceCheck: this.compliance.check.stateMachine,
      },
      consoleDomainPrefix: props.consoleDomainPrefix,
    });

    // ── the AWS-native picture: dashboard and alarms, every alarm to the alert topic
    const f = this.functions;
    const c = this.compliance.functions;
    this.monitoring = new FleetwaveMonitoring(this, 'Monitoring', {
      stateMachines: {
        HostUpgrade: this.hostUpgrade.stateMachine,
        HostRollback: this.hostRollback.stateMachine,
        FleetRollout: this.fleetRollout.stateMachine,
        RolloutBatch: this.rolloutBatch.stateMachine,
        RolloutRollback: this.rolloutRollback.stateMachine,
        ComplianceCheck: this.compliance.check.stateMachine,
      },
      functions: {
        BeginRun: f.beginRun, SendStep: f.sendStep, RunEvents: this.runEvents.fn, RecordStep: f.recordStep, PrepareBackup: f.prepareBackup,
        CompleteBackup: f.completeBackup, FinishRun: f.finishRun, Rollout: f.rollout, CompliancePlan: c.plan, ComplianceSend: c.send,
        ComplianceCollect: c.collect, ComplianceFinish: c.finish, OperatorApi: this.operatorApi.handler,
      },
      alerts: this.alerts.topic,
      finishRunLogs: f.finishRun.logGroup,
      completeBackupLogs: f.completeBackup.logGroup,
      driftAlarm: this.compliance.alarm,
    });

    // the singleton that sets the Aurora log groups' retention
    for (const child of this.node.children.filter((c) => c.node.id.startsWith('LogRetention'))) {
      acknowledge(
        child,
        [managedPolicy('service-role/AWSLambdaBasicExecutionRole'), wildcardResource('*')],
        'CDK\'s LogRetention custom resource sets retention on log groups RDS creates at run time; it needs the basic execution role and logs:PutRetentionPolicy on them.',
      );
    }

    new CfnOutput(this, 'HostUpgradeArn', { value: this.hostUpgrade.stateMachine.stateMachineArn });
    new CfnOutput(this, 'HostRollbackArn', { value: this.hostRollback.stateMachine.stateMachineArn });
    new CfnOutput(this, 'FleetRolloutArn', { value: this.fleetRollout.stateMachine.stateMachineArn });
    new CfnOutput(this, 'RolloutRollbackArn', { value: this.rolloutRollback.stateMachine.stateMachineArn });
    new CfnOutput(this, 'ComplianceCheckArn', { value: this.compliance.check.stateMachine.stateMachineArn });
    new CfnOutput(this, 'BackupBucketName', { value: this.backups.bucket.bucketName });
    new CfnOutput(this, 'HostInstancePolicyArn', {
      description: "Attach to every host's instance role (with AmazonSSMManagedInstanceCore)",
      value: hostInstancePolicy(this, 'HostInstancePolicy', this.backups.bucket, this.backups.key).managedPolicyArn,
    });
    new CfnOutput(this, 'AlertTopicArn', { value: this.alerts.topic.topicArn });
    new CfnOutput(this, 'RegistrySecretArn', { value: registry.secret.secretArn });
  }
}
