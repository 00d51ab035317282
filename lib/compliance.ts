import { Arn, ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, MathExpression, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import { CfnSchedule } from 'aws-cdk-lib/aws-scheduler';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRIC_NAMESPACE } from '../core/compliance/adapters';
import { CompliancePlanEnv, ComplianceCollectEnv, ComplianceFinishEnv, ComplianceSendEnv } from '../lambdas/shared/env';
import { documentName } from '../ssm-documents';
import { ComplianceCheck } from '../state-machines/compliance-check';
import type { BackupBucket } from './backup-bucket';
import { FleetwaveFunction } from './fleetwave-function';
import type { HostDocuments } from './host-documents';
import { acknowledgePrefix, grantAlertPublish, grantCancelCommand, grantReadCommandOutput, grantSendCommand, listPrefixes, objectAccess, useBackupKey } from './iam';
import { acknowledge, logicalIdOf, nagArn, wildcardResource } from './nag';
import type { RegistryDatabase } from './registry-database';

export interface FleetwaveComplianceProps {
  readonly backups: BackupBucket;
  readonly documents: HostDocuments;
  readonly registry: RegistryDatabase;
  readonly alerts: ITopic;
  readonly logGroup: ILogGroup;
  /** Tag key every managed host carries; SendCommand is allowed only on tagged instances. */
  readonly fleetTagKey: string;
  /** EventBridge Scheduler expression. Default `rate(1 hour)`. */
  readonly scheduleExpression?: string;
  /** Consecutive periods (of `alarmPeriod`) with drift before the alarm fires. Default 2. */
  readonly alarmEvaluationPeriods?: number;
  /** Default 1 hour, the default schedule's period. */
  readonly alarmPeriod?: Duration;
  readonly pollInterval?: Duration;
  /** FleetRollout and RolloutRollback: the plan task reconciles a rollout whose execution ended without finishing (DescribeExecution). */
  readonly rollouts?: readonly StateMachine[];
}

/**
 * Scheduled version-parity checks: the four task functions with exactly the
 * permissions each needs, the ComplianceCheck state machine, its schedule
 * (with a role that may only start this machine), and an alarm on
 * Fleetwave/NonCompliantHosts whose action is the alert topic.
 */
export class FleetwaveCompliance extends Construct {
  readonly check: ComplianceCheck;
  readonly schedule: CfnSchedule;
  readonly alarm: Alarm;
  readonly functions: { plan: FleetwaveFunction; send: FleetwaveFunction; collect: FleetwaveFunction; finish: FleetwaveFunction };

  constructor(scope: Construct, id: string, props: FleetwaveComplianceProps) {
    super(scope, id);
    const { backups, documents, registry } = props;
    const bucket = backups.bucket;
    const stack = Stack.of(this);
    const vpcProps = registry.clientNetwork();
    const registryEnv = registry.clientEnvironment();
    const inventoryDocument = documentName('inventory', documents.prefix);

    const plan = new FleetwaveFunction(this, 'Plan', {
      handlerDir: 'compliance-plan',
      description: 'fleetwave compliance: batch the hosts in scope and open the check',
      environmentSchema: CompliancePlanEnv,
      environment: { ...registryEnv, REPORT_BUCKET: bucket.bucketName },
      ...vpcProps,
    });
    const send = new FleetwaveFunction(this, 'Send', {
      handlerDir: 'compliance-send',
      description: 'fleetwave compliance: one Inventory SendCommand per batch of hosts',
      environmentSchema: ComplianceSendEnv,
      environment: {
        REPORT_BUCKET: bucket.bucketName,
        OUTPUT_BUCKET: bucket.bucketName,
        INVENTORY_DOCUMENT: inventoryDocument,
        DOCUMENT_VERSIONS: documents.versionsEnvironment(['inventory']),
        DELIVERY_TIMEOUT_SECONDS: '120',
        SSM_MAX_CONCURRENCY: '10',
        SSM_MAX_ERRORS: '100%',
      },
    });
    const collect = new FleetwaveFunction(this, 'Collect', {
      handlerDir: 'compliance-collect',
      description: 'fleetwave compliance: collect the inventory of a batch of hosts',
      environmentSchema: ComplianceCollectEnv,
      environment: { REPORT_BUCKET: bucket.bucketName, OUTPUT_BUCKET: bucket.bucketName },
      timeout: Duration.seconds(120),
    });
    const finish = new FleetwaveFunction(this, 'Finish', {
      handlerDir: 'compliance-finish',
      description: 'fleetwave compliance: evaluate, record, report, metric and alert',
      environmentSchema: ComplianceFinishEnv,
      environment: { ...registryEnv, REPORT_BUCKET: bucket.bucketName, ALERT_TOPIC_ARN: props.alerts.topicArn },
      timeout: Duration.minutes(15),
      memorySize: 512,
      ...vpcProps,
    });
    this.functions = { plan, send, collect, finish };
    registry.grantConnect(plan);
    registry.grantConnect(finish);
    grantAlertPublish(props.alerts, finish);

    // ── SSM: only the Inventory document, only on instances carrying the fleet tag
    grantSendCommand(send, {
      documentsSid: 'SendInventoryDocumentOnly',
      documentArns: [Arn.format({ service: 'ssm', resource: 'document', resourceName: inventoryDocument }, stack)],
      instancesSid: 'InventoryTaggedInstancesOnly',
      fleetTagKey: props.fleetTagKey,
    });
    // ping status before sending; ListCommands finds a command a retried task already sent
    send.addToRolePolicy(
      new PolicyStatement({ sid: 'FindOnlineAndEarlierCommands', actions: ['ssm:DescribeInstanceInformation', 'ssm:ListCommands'], resources: ['*'] }),
    );
    collect.addToRolePolicy(
      new PolicyStatement({
        sid: 'ReadInventoryInvocations',
        actions: ['ssm:ListCommandInvocations', 'ssm:GetCommandInvocation'],
        resources: ['*'],
      }),
    );
    // an Inventory command past its deadline is cancelled before the check moves on
    grantCancelCommand(collect, 'CancelOverdueInventory');
    finish.addToRolePolicy(new PolicyStatement({ sid: 'ReportComplianceItems', actions: ['ssm:PutComplianceItems'], resources: ['*'] }));
    finish.addToRolePolicy(
      new PolicyStatement({
        sid: 'PublishParityMetrics',
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': METRIC_NAMESPACE } },
      }),
    );

    // ── S3: compliance/ objects (plan, batches, report), command output read-only, never delete
    const readWrite = ['s3:GetObject', 's3:PutObject'];
    plan.addToRolePolicy(objectAccess('WriteCompliancePlan', readWrite, bucket, 'compliance'));
    if (props.rollouts?.length) {
      plan.addToRolePolicy(
        new PolicyStatement({
          sid: 'ReconcileRollouts',
          actions: ['states:DescribeExecution'],
          resources: props.rollouts.map((sm) =>
            Arn.format({ service: 'states', resource: 'execution', resourceName: `${sm.stateMachineName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }, stack),
          ),
        }),
      );
      acknowledge(
        plan,
        props.rollouts.map((sm) => wildcardResource(`${nagArn(this, 'states')}execution:<${logicalIdOf(sm)}.Name>:*`)),
        'Executions are named at run time; the statement is limited to reading the executions of FleetRollout and RolloutRollback.',
      );
    }
    send.addToRolePolicy(objectAccess('ComplianceBatches', readWrite, bucket, 'compliance'));
    collect.addToRolePolicy(objectAccess('ComplianceBatches', readWrite, bucket, 'compliance'));
    finish.addToRolePolicy(objectAccess('ComplianceReport', readWrite, bucket, 'compliance'));
    grantReadCommandOutput(collect, bucket, ['compliance']);
    for (const fn of [plan, send, finish]) fn.addToRolePolicy(listPrefixes('FindComplianceObjects', bucket, ['compliance']));
    const bucketUsers = [plan, send, collect, finish];
    for (const fn of bucketUsers) fn.addToRolePolicy(useBackupKey(backups.key));
    // the same guarantee as the task functions', in a statement of its own
    backups.denyDeletesBy(bucketUsers.map((f) => f.role!), 'ComplianceCannotDeleteBackups');
    backups.denyOverwritesBy(bucketUsers.map((f) => f.role!), 'ComplianceCannotOverwriteBackups');
    for (const fn of bucketUsers) {
      acknowledgePrefix(fn, bucket, 'compliance', 'Compliance plans, batch results and reports live under compliance/<checkId>, made per check at run time. Delete is denied by the bucket policy.');
    }

    // ── the workflow
    this.check = new ComplianceCheck(this, 'Check', {
      functions: this.functions,
      logGroup: props.logGroup,
      pollInterval: props.pollInterval,
    });
    const machine = this.check.stateMachine;

    // ── schedule: a role allowed exactly one thing, starting this machine
    const scheduleRole = new Role(this, 'ScheduleRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
      description: 'fleetwave: EventBridge Scheduler starts the ComplianceCheck state machine',
    });
    scheduleRole.addToPolicy(new PolicyStatement({ sid: 'StartComplianceCheckOnly', actions: ['states:StartExecution'], resources: [machine.stateMachineArn] }));
    this.schedule = new CfnSchedule(this, 'Schedule', {
      description: 'fleetwave: version-parity compliance check of every fleet',
      scheduleExpression: props.scheduleExpression ?? 'rate(1 hour)',
      flexibleTimeWindow: { mode: 'OFF' },
      state: 'ENABLED',
      target: {
        arn: machine.stateMachineArn,
        roleArn: scheduleRole.roleArn,
        input: '{}',
        retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
      },
    });

    // ── alarm: the worst fleet's NonCompliantHosts (UNKNOWN included) above 0 for N periods.
    // Fleets live in the registry, not in the template, so one Metrics Insights
    // query covers all of them instead of an alarm per fleet.
    const period = props.alarmPeriod ?? Duration.hours(1);
    this.alarm = new Alarm(this, 'DriftAlarm', {
      alarmDescription: 'fleetwave: hosts drift from version parity (Fleetwave/NonCompliantHosts > 0; UNKNOWN hosts count)',
      metric: new MathExpression({
        expression: `SELECT MAX(NonCompliantHosts) FROM SCHEMA("${METRIC_NAMESPACE}", Fleet)`,
        period,
        label: 'NonCompliantHosts (worst fleet)',
      }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: props.alarmEvaluationPeriods ?? 2,
      treatMissingData: TreatMissingData.MISSING,
    });
    this.alarm.addAlarmAction(new SnsAction(props.alerts));
    this.alarm.addOkAction(new SnsAction(props.alerts));
    // CloudWatch publishes to the KMS-encrypted topic with the topic's key
    props.alerts.masterKey?.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
  }
}
