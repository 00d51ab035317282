import { Duration } from 'aws-cdk-lib';
import { Alarm, AlarmWidget, GraphWidget, ComparisonOperator, LogQueryVisualizationType, LogQueryWidget, MathExpression, Metric, TreatMissingData, Unit, type IAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { FilterPattern, MetricFilter, type ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { DefaultDashboardFactory, MonitoringFacade, SnsAlarmActionStrategy } from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import { BACKUP_BYTES_METRIC, BACKUP_SECONDS_METRIC, BACKUP_VERIFIED_LOG } from '../core/backup-storage/metrics';
import { METRIC_NAMESPACE, QUARANTINED_HOSTS_METRIC } from '../core/compliance/adapters';
import { STEP_EXECUTION_TIMEOUT_SECONDS } from '../core/host-steps/parameters';

export interface FleetwaveMonitoringProps {
  /** Every state machine of the stack, by the name the dashboard shows. */
  readonly stateMachines: Record<string, IStateMachine>;
  /** Every Lambda task and the operator API, by the name the dashboard shows. */
  readonly functions: Record<string, IFunction>;
  readonly alerts: ITopic;
  /** finish-run's log group: its `run finished` line names each run's outcome. */
  readonly finishRunLogs: ILogGroup;
  /** complete-backup's log group: its `backup verified` line names each verified backup's host, size and duration. */
  readonly completeBackupLogs: ILogGroup;
  /** The compliance drift alarm (lib/compliance.ts), already notifying the alert topic. */
  readonly driftAlarm: IAlarm;
}

/** A rollback that failed: the host was left quarantined (ROLLBACK_FAILED) and an alert sent by finish-run. */
export const ROLLBACKS_FAILED_METRIC = 'RollbacksFailed';

/**
 * The AWS-native picture: one CloudWatch dashboard and alarms, made with
 * cdk-monitoring-constructs (cdklabs; one facade for Step Functions, Lambda
 * and custom metrics, alarms and widgets kept in step), every alarm
 * notifying the alert topic:
 * - each state machine: any FAILED, TIMED_OUT or ABORTED execution
 *   (AWS/States ExecutionsFailed / ExecutionsTimedOut / ExecutionsAborted);
 * - each function: any error or throttle (AWS/Lambda Errors, Throttles);
 * - rollbacks that failed, which quarantine their host: a metric filter on
 *   finish-run's JSON log line (`outcome: rollback-failed`), so no code path
 *   has to remember to publish it;
 * - quarantined hosts: the worst fleet's QuarantinedHosts (published by each
 *   compliance check) above 0, so a host left quarantined keeps paging until
 *   an operator unlocks it, not only at the moment its restore failed;
 * - compliance drift: the existing NonCompliantHosts alarm, on the dashboard;
 * - backups: size and duration per host, a Logs Insights table over
 *   complete-backup's `backup verified` lines (any number of hosts, no custom
 *   metric per host: a metric filter with a per-host dimension is disabled
 *   once it makes 1,000 name/value pairs within an hour, PutMetricFilter,
 *   https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutMetricFilter.html);
 *   BackupBytes and BackupSeconds over the fleet, and an alarm when a backup
 *   took more than 80 % of the Backup step's execution timeout, before a
 *   growing database makes that host's next upgrade time out at its backup.
 * https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html
 */
export class FleetwaveMonitoring extends Construct {
  readonly facade: MonitoringFacade;
  readonly rollbacksFailed: Metric;
  readonly quarantinedAlarm: Alarm;
  readonly backupDurationAlarm: Alarm;

  constructor(scope: Construct, id: string, props: FleetwaveMonitoringProps) {
    super(scope, id);
    this.facade = new MonitoringFacade(this, 'Facade', {
      alarmFactoryDefaults: {
        alarmNamePrefix: 'Fleetwave',
        actionsEnabled: true,
        action: new SnsAlarmActionStrategy({ onAlarmTopic: props.alerts, onOkTopic: props.alerts }),
        datapointsToAlarm: 1,
        evaluationPeriods: 1,
      },
      metricFactoryDefaults: {},
      dashboardFactory: new DefaultDashboardFactory(this, 'Dashboards', {
        dashboardNamePrefix: 'Fleetwave',
        createDashboard: true,
        createSummaryDashboard: false,
        createAlarmDashboard: false,
      }),
    });
    const anyOne = { Critical: { maxErrorCount: 0 } };

    this.facade.addLargeHeader('fleetwave: workflows');
    for (const [name, stateMachine] of Object.entries(props.stateMachines)) {
      this.facade.monitorStepFunction({
        stateMachine,
        humanReadableName: name,
        alarmFriendlyName: name,
        addFailedExecutionCountAlarm: anyOne,
        addTimedOutExecutionCountAlarm: anyOne,
        addAbortedExecutionCountAlarm: anyOne,
      });
    }

    this.facade.addLargeHeader('fleetwave: hosts');
    new MetricFilter(this, 'RollbacksFailedFilter', {
      logGroup: props.finishRunLogs,
      metricNamespace: METRIC_NAMESPACE,
      metricName: ROLLBACKS_FAILED_METRIC,
      filterPattern: FilterPattern.all(FilterPattern.stringValue('$.message', '=', 'run finished'), FilterPattern.stringValue('$.outcome', '=', 'rollback-failed')),
      metricValue: '1',
      defaultValue: 0,
    });
    this.rollbacksFailed = new Metric({ namespace: METRIC_NAMESPACE, metricName: ROLLBACKS_FAILED_METRIC, statistic: 'Sum', period: Duration.minutes(5) });
    this.facade.monitorCustom({
      alarmFriendlyName: 'Hosts',
      humanReadableName: 'Rollbacks that failed (each quarantines its host) and compliance drift',
      metricGroups: [
        {
          title: 'Rollbacks that failed: hosts quarantined',
          metrics: [
            {
              metric: this.rollbacksFailed,
              alarmFriendlyName: 'RollbacksFailed',
              addAlarm: {
                Critical: {
                  threshold: 0,
                  comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
                  alarmDescriptionOverride: 'fleetwave: a restore failed and its host is quarantined (ROLLBACK_FAILED); unlock it once dealt with',
                },
              },
            },
          ],
        },
        {
          title: 'Non-compliant hosts (worst fleet; UNKNOWN hosts count)',
          metrics: [
            new MathExpression({ expression: `SELECT MAX(NonCompliantHosts) FROM SCHEMA("${METRIC_NAMESPACE}", Fleet)`, period: Duration.hours(1), label: 'NonCompliantHosts' }),
          ],
        },
      ],
    });
    // Fleets live in the registry, not in the template: one Metrics Insights query covers them all.
    this.quarantinedAlarm = new Alarm(this, 'QuarantinedHostsAlarm', {
      alarmName: 'Fleetwave-Hosts-Quarantined',
      alarmDescription: 'fleetwave: hosts are quarantined after a failed restore (Fleetwave/QuarantinedHosts > 0); see `fleetwave host show`, then `fleetwave host unlock`',
      metric: new MathExpression({
        expression: `SELECT MAX(${QUARANTINED_HOSTS_METRIC}) FROM SCHEMA("${METRIC_NAMESPACE}", Fleet)`,
        period: Duration.hours(1),
        label: 'QuarantinedHosts (worst fleet)',
      }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.MISSING,
    });
    this.quarantinedAlarm.addAlarmAction(new SnsAction(props.alerts));
    this.quarantinedAlarm.addOkAction(new SnsAction(props.alerts));
    this.facade.addWidget(new AlarmWidget({ alarm: this.quarantinedAlarm, title: 'Quarantined hosts (worst fleet)', width: 12, height: 6 }));
    this.facade.addWidget(new AlarmWidget({ alarm: props.driftAlarm, title: 'Compliance drift alarm (Fleetwave/NonCompliantHosts)', width: 24, height: 6 }));

    this.backupDurationAlarm = this.monitorBackups(props.completeBackupLogs, props.alerts);

    this.facade.addLargeHeader('fleetwave: tasks');
    for (const [name, lambdaFunction] of Object.entries(props.functions)) {
      this.facade.monitorLambdaFunction({
        lambdaFunction,
        humanReadableName: name,
        alarmFriendlyName: name,
        addFaultCountAlarm: anyOne,
        addThrottlesCountAlarm: anyOne,
      });
    }
  }

  private monitorBackups(logGroup: ILogGroup, alerts: ITopic): Alarm {
    const verified = FilterPattern.stringValue('$.message', '=', BACKUP_VERIFIED_LOG);
    new MetricFilter(this, 'BackupBytesFilter', {
      logGroup,
      metricNamespace: METRIC_NAMESPACE,
      metricName: BACKUP_BYTES_METRIC,
      filterPattern: verified,
      metricValue: '$.bytes',
      unit: Unit.BYTES,
    });
    new MetricFilter(this, 'BackupSecondsFilter', {
      logGroup,
      metricNamespace: METRIC_NAMESPACE,
      metricName: BACKUP_SECONDS_METRIC,
      filterPattern: FilterPattern.all(verified, FilterPattern.numberValue('$.durationSeconds', '>=', 0)),
      metricValue: '$.durationSeconds',
      unit: Unit.SECONDS,
    });
    const metric = (metricName: string, label: string) => new Metric({ namespace: METRIC_NAMESPACE, metricName, statistic: 'Maximum', period: Duration.hours(1), label });
    const limit = Math.round(STEP_EXECUTION_TIMEOUT_SECONDS.backup * 0.8);
    const alarm = new Alarm(this, 'BackupDurationAlarm', {
      alarmName: 'Fleetwave-Backups-NearTimeout',
      alarmDescription: `fleetwave: a backup took more than ${limit} s, 80 % of the Backup step's ${STEP_EXECUTION_TIMEOUT_SECONDS.backup} s execution timeout; that host's next upgrade may fail at its backup. The dashboard's backup table names the host.`,
      metric: metric(BACKUP_SECONDS_METRIC, 'BackupSeconds (longest)'),
      threshold: limit,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new SnsAction(alerts));
    alarm.addOkAction(new SnsAction(alerts));
    this.facade.addLargeHeader('fleetwave: backups');
    this.facade.addWidget(new AlarmWidget({ alarm, title: 'Longest backup vs 80 % of the Backup step timeout', width: 12, height: 6 }));
    this.facade.addWidget(new GraphWidget({ title: 'Largest backup (bytes)', left: [metric(BACKUP_BYTES_METRIC, 'BackupBytes (largest)')], width: 12, height: 6 }));
    this.facade.addWidget(
      new LogQueryWidget({
        title: 'Backups per host: size and duration (verified backups)',
        logGroupNames: [logGroup.logGroupName],
        view: LogQueryVisualizationType.TABLE,
        queryLines: [
          'fields hostId, bytes, durationSeconds',
          `filter message = "${BACKUP_VERIFIED_LOG}"`,
          'stats count(*) as backups, latest(bytes) as lastBytes, max(bytes) as maxBytes, latest(durationSeconds) as lastSeconds, max(durationSeconds) as maxSeconds by hostId',
          'sort maxSeconds desc',
          'limit 500',
        ],
        width: 24,
        height: 8,
      }),
    );
    return alarm;
  }
}
