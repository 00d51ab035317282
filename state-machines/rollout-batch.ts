/**
 * RolloutBatch — up to BATCH_SIZE hosts of one wave, as a child of
 * FleetRollout or RolloutRollback, so no execution's history grows with the
 * fleet (each host is one child execution of HostUpgrade or HostRollback).
 *
 * Input: {"rollout": RolloutContext, "wave": 0, "mode": "upgrade"|"rollback",
 *         "items": [{"hostId": "...", "backupId"?: "..."}]}
 *
 * Steps, per host (Map, MaxConcurrencyPath = $.rollout.concurrency):
 *   upgrade:  ClaimHost (rollout: claim-host — skip when the wave is over its
 *             failure budget, the rollout is stopping or the host is done)
 *             → UpgradeHost (HostUpgrade, startExecution.sync:2, deterministic
 *             name <rollout>--<host>--a<attempt>) → RecordHost (rollout:
 *             record-host; failures are recorded the same way from the Catch).
 *   rollback: RollbackHost (HostRollback with the backup the rollout's run took)
 *             → RecordRolledBack.
 */
import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import {
  Choice,
  Condition,
  DefinitionBody,
  IntegrationPattern,
  JsonPath,
  LogLevel,
  Map as MapState,
  StateMachine,
  StateMachineType,
  Succeed,
  TaskInput,
  Timeout,
  type IChainable,
  type IStateMachine,
} from 'aws-cdk-lib/aws-stepfunctions';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { acknowledgeChildExecutions, acknowledgeFunctionInvokes, lambdaTask } from './task-policy';

export interface RolloutBatchProps {
  readonly rolloutFn: IFunction;
  readonly hostUpgrade: IStateMachine;
  readonly hostRollback: IStateMachine;
  readonly logGroup: ILogGroup;
}

export class RolloutBatch extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: RolloutBatchProps) {
    super(scope, id);
    const fn = props.rolloutFn;
    const record = (name: string, extra: Record<string, unknown>) =>
      lambdaTask(this, name, {
        fn,
        comment: 'Record the host result in the rollout',
        payload: TaskInput.fromObject({
          action: 'record-host',
          'rollout.$': '$.rollout',
          'wave.$': '$.wave',
          'hostId.$': '$.item.hostId',
          'mode.$': '$.mode',
          ...extra,
        }),
        resultPath: '$.recorded',
        timeout: Duration.seconds(60),
      });
    const recordOk = record('RecordHost', { 'output.$': '$.child.output' });
    const recordFailed = record('RecordHostFailure', { 'error.$': '$.error' });
    const recordRolledBack = record('RecordRolledBack', {});
    const recordRollbackFailed = record('RecordRollbackFailed', { 'error.$': '$.error' });
    const hostDone = new Succeed(this, 'HostDone');
    for (const r of [recordOk, recordFailed, recordRolledBack, recordRollbackFailed]) {
      // a host whose result cannot be recorded must not sink its batch: the wave evaluation re-reads the registry
      r.addCatch(hostDone, { errors: ['States.ALL'], resultPath: '$.recordError' });
      r.next(hostDone);
    }

    const claim = lambdaTask(this, 'ClaimHost', {
      fn,
      comment: 'Run this host only while the wave is within budget and the rollout not stopping',
      payload: TaskInput.fromObject({ action: 'claim-host', 'rollout.$': '$.rollout', 'wave.$': '$.wave', 'hostId.$': '$.item.hostId' }),
      resultPath: '$.claim',
      timeout: Duration.seconds(60),
    });
    claim.addCatch(recordFailed, { errors: ['States.ALL'], resultPath: '$.error' });
    const upgrade = new StepFunctionsStartExecution(this, 'UpgradeHost', {
      stateMachine: props.hostUpgrade,
      integrationPattern: IntegrationPattern.RUN_JOB,
      associateWithParent: true,
      name: JsonPath.stringAt('$.claim.executionName'),
      input: TaskInput.fromObject({
        hostId: JsonPath.stringAt('$.item.hostId'),
        version: JsonPath.stringAt('$.rollout.version'),
        rolloutId: JsonPath.stringAt('$.rollout.rolloutId'),
        allowDestructive: JsonPath.stringAt('$.rollout.allowDestructive'),
        requestedBy: JsonPath.stringAt('$.rollout.requestedBy'),
      }),
      resultSelector: { 'output.$': '$.Output' },
      resultPath: '$.child',
      taskTimeout: Timeout.duration(Duration.hours(4)),
    });
    upgrade.addRetry({ errors: ['StepFunctions.ExecutionLimitExceeded', 'StepFunctions.SdkClientException'], interval: Duration.seconds(5), maxAttempts: 4, backoffRate: 2 });
    upgrade.addCatch(recordFailed, { errors: ['States.ALL'], resultPath: '$.error' });
    upgrade.next(recordOk);

    const rollback = new StepFunctionsStartExecution(this, 'RollbackHost', {
      stateMachine: props.hostRollback,
      integrationPattern: IntegrationPattern.RUN_JOB,
      associateWithParent: true,
      name: JsonPath.format('{}--{}--rollback', JsonPath.stringAt('$.rollout.rolloutId'), JsonPath.stringAt('$.item.hostId')),
      input: TaskInput.fromObject({
        hostId: JsonPath.stringAt('$.item.hostId'),
        backupId: JsonPath.stringAt('$.item.backupId'),
        reason: JsonPath.format('rollback of rollout {}', JsonPath.stringAt('$.rollout.rolloutId')),
        requestedBy: JsonPath.stringAt('$.rollout.requestedBy'),
      }),
      resultSelector: { 'output.$': '$.Output' },
      resultPath: '$.child',
      taskTimeout: Timeout.duration(Duration.hours(3)),
    });
    rollback.addRetry({ errors: ['StepFunctions.ExecutionLimitExceeded', 'StepFunctions.SdkClientException'], interval: Duration.seconds(5), maxAttempts: 4, backoffRate: 2 });
    rollback.addCatch(recordRollbackFailed, { errors: ['States.ALL'], resultPath: '$.error' });
    rollback.next(recordRolledBack);

    claim.next(new Choice(this, 'Claimed').when(Condition.stringEquals('$.claim.action', 'run'), upgrade).otherwise(new Succeed(this, 'Skipped')));
    const perHost = new Choice(this, 'Mode').when(Condition.stringEquals('$.mode', 'rollback'), rollback).otherwise(claim);

    const hosts = new MapState(this, 'Hosts', {
      itemsPath: '$.items',
      maxConcurrencyPath: '$.rollout.concurrency',
      itemSelector: {
        'rollout.$': '$.rollout',
        'wave.$': '$.wave',
        'mode.$': '$.mode',
        'item.$': '$$.Map.Item.Value',
      },
      resultPath: JsonPath.DISCARD,
    });
    hosts.itemProcessor(perHost);
    hosts.next(new Succeed(this, 'BatchDone'));

    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(hosts),
      timeout: Duration.hours(24),
      tracingEnabled: true,
      comment: 'A batch of one wave: one HostUpgrade (or HostRollback) child execution per host',
      logs: { destination: props.logGroup, level: LogLevel.ALL, includeExecutionData: false },
    });
    acknowledgeFunctionInvokes(this.stateMachine, [fn]);
    acknowledgeChildExecutions(this.stateMachine, [props.hostUpgrade, props.hostRollback]);
  }
}

/** The parent's RunBatch task: one RolloutBatch child for the hosts in `$.batch.items`. */
export function runBatchTask(
  scope: Construct,
  batch: IStateMachine,
  mode: 'upgrade' | 'rollback',
  wave: number | string,
  onError: IChainable,
): StepFunctionsStartExecution {
  const task = new StepFunctionsStartExecution(scope, 'RunBatch', {
    stateMachine: batch,
    integrationPattern: IntegrationPattern.RUN_JOB,
    associateWithParent: true,
    input: TaskInput.fromObject({
      rollout: JsonPath.objectAt('$.rollout'),
      wave,
      mode,
      items: JsonPath.listAt('$.batch.items'),
    }),
    resultPath: JsonPath.DISCARD,
    taskTimeout: Timeout.duration(Duration.hours(24)),
  });
  task.addRetry({
    errors: ['StepFunctions.ExecutionLimitExceeded', 'StepFunctions.SdkClientException', 'StepFunctions.AWSStepFunctionsException'],
    interval: Duration.seconds(5),
    maxAttempts: 4,
    backoffRate: 2,
  });
  task.addCatch(onError, { errors: ['States.ALL'], resultPath: '$.error' });
  return task;
}
