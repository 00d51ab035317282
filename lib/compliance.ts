import { Arn, Duration, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, MathExpression, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { AnyPrincipal, Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import { CfnSchedule } from 'aws-cdk-lib/aws-scheduler';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { METRIC_NAMESPACE } from '../core/compliance/adapters';
import { CompliancePlanEnv, ComplianceCollectEnv, ComplianceFinishEnv, ComplianceSendEnv } from '../lambdas/shared/env';
import { documentName } from '../ssm-documents';
import { ComplianceCheck } from '../state-machines/compliance-check';
import type { BackupBucket } from './backup-bucket';
import { FleetwaveFunction } from './fleetwave-function';
import type { HostDocuments } from './host-documents';
import { acknowledge, wildcardAction, wildcardResource, nagArn } from './nag';
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
    props.alerts.grantPublish(finish);

    // ── SSM: only the Inventory document, only on instances carrying the fleet tag
    send.addToRolePolicy(
      new PolicyStatement({
        sid: 'SendInventoryDocumentOnly',
        actions: ['ssm:SendCommand'],
        resources: [Arn.format({ service: 'ssm', resource: 'document', resourceName: inventoryDocument }, stack)],
      }),
    );
    send.addToRolePolicy(
      new PolicyStatement({
        sid: 'InventoryTaggedInstancesOnly',
        actions: ['ssm:SendCommand'],
        resources: [
          Arn.format({ service: 'ec2', resource: 'instance', resourceName: '*' }, stack),
          Arn.format({ service: 'ssm', resource: 'managed-instance', resourceName: '*' }, stack),
        ],
        conditions: { StringLike: { [`ssm:resourceTag/${props.fleetTagKey}`]: '*' } },
      }),
    );
    // ping status before sending; ListCommands finds a command a retried task already sent
    send.addToRolePolicy(
      new PolicyStatement({ sid: 'FindOnlineAndEarlierCommands', actions: ['ssm:DescribeInstanceInformation', 'ssm:ListCommands'], resources: ['*'] }),
    );
    collect.addToRolePolicy(
      new PolicyStatement({
        sid: 'ReadInventoryInvocations',
        actions: ['ssm:ListCommandInvocations', 'ssm:GetCommandInvocation', 'ssm:CancelCommand'],
        resources: ['*'],
      }),
    );
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
    const objects = (prefix: string) => bucket.arnForObjects(`${prefix}/*`);
    const allow = (sid: string, actions: string[], resources: string[]) => new PolicyStatement({ sid, effect: Effect.ALLOW, actions, resources });
    plan.addToRolePolicy(allow('WriteCompliancePlan', ['s3:GetObject', 's3:PutObject'], [objects('compliance')]));
    send.addToRolePolicy(allow('ComplianceBatches', ['s3:GetObject', 's3:PutObject'], [objects('compliance')]));
    collect.addToRolePolicy(allow('ComplianceBatches', ['s3:GetObject', 's3:PutObject'], [objects('compliance')]));
    finish.addToRolePolicy(allow('ComplianceReport', ['s3:GetObject', 's3:PutObject'], [objects('compliance')]));
    collect.addToRolePolicy(allow('ReadCommandOutput', ['s3:GetObject'], [objects('command-output')]));
    collect.addToRolePolicy(
      new PolicyStatement({
        sid: 'FindCommandOutput',
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        // ListBucket is also what turns a missing key into 404 rather than 403
        conditions: { StringLike: { 's3:prefix': ['command-output/*', 'compliance/*'] } },
      }),
    );
    for (const fn of [plan, send, finish]) {
      fn.addToRolePolicy(
        new PolicyStatement({
          sid: 'FindComplianceObjects',
          actions: ['s3:ListBucket'],
          resources: [bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': ['compliance/*'] } },
        }),
      );
    }
    for (const fn of [plan, send, collect, finish]) {
      fn.addToRolePolicy(allow('UseBackupKey', ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:Encrypt'], [backups.key.keyArn]));
    }
    // Same guarantee as BackupBucket.denyDeletesBy, in a statement of its own: Sids must be unique in a bucket policy.
    bucket.addToResourcePolicy(
      new PolicyStatement({
        sid: 'ComplianceCannotDeleteBackups',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:PutLifecycleConfiguration', 's3:PutBucketVersioning'],
        resources: [bucket.bucketArn, bucket.arnForObjects('*')],
        conditions: { ArnEquals: { 'aws:PrincipalArn': [plan, send, collect, finish].map((f) => f.role!.roleArn) } },
      }),
    );

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

    // ── cdk-nag: each finding named, each with its reason
    const bucketArn = `<${stack.getLogicalId(bucket.node.defaultChild as never)}.Arn>`;
    acknowledge(
      send,
      [
        wildcardResource(`${nagArn(this, 'ec2')}instance/*`),
        wildcardResource(`${nagArn(this, 'ssm')}managed-instance/*`),
      ],
      'Inventory SendCommand is limited to instances whose fleet tag is set (ssm:resourceTag condition); instances join and leave fleets, so they cannot be listed.',
    );
    for (const fn of [plan, send, collect, finish]) {
      acknowledge(fn, [wildcardResource(`${bucketArn}/compliance/*`)], 'Compliance plans, batch results and reports live under compliance/<checkId>, made per check at run time. Delete is denied by the bucket policy.');
    }
    acknowledge(collect, [wildcardResource(`${bucketArn}/command-output/*`)], 'Reads SSM command output under command-output/, whose keys SSM makes per command id.');
    acknowledge(
      finish,
      [wildcardAction('kms:GenerateDataKey*'), wildcardAction('kms:ReEncrypt*')],
      'Publishing to the KMS-encrypted alert topic needs data keys from that one key (CDK grantPublish).',
    );
  }
}
