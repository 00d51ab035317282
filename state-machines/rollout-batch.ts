/**
 * RolloutBatch — up to BATCH_SIZE hosts of one wave, as a child of
 * FleetRollout or RolloutRollback, so no execution's history grows with the
 * fleet (each host is one child execution of HostUpgrade or HostRollback).
 *
 * Input: {"rollout": RolloutContext, "wave": 0, "mode": "upgrade"|"rollback",
 *         "items": [{"hostId": "...", "backupId"?: "...", "force"?: bool}]}
 *
 * Steps, per host (Map, MaxConcurrencyPath = $.rollout.concurrency):
 *   upgrade:  ClaimHost (rollout: claim-host — skip when the wave is over its
 *             failure budget, the rollout is stopping or the host is done)
 *             → UpgradeHost (HostUpgrade, startExecution.sync:2, deterministic
 *             name <rollout>--<host>--a<attempt>) → RecordHost (rollout:
 *             record-host; failures are recorded the same way from the Catch).
 *   rollback: RollbackHost (HostRollback with the backup the rollout's run took,
 *             forced only when the operator forced the rollback) → RecordRolledBack.
 */
import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import {
  Choice,
  Condition,
  JsonPath,
  Map as MapState,
  Succeed,
  TaskInput,
  type IStateMachine,
  type StateMachine,
} from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { FleetwaveStateMachine } from './fleetwave-state-machine';
import { rolloutTask } from './rollout-tasks';
import { RESTORE_TASK_TIMEOUT, UPGRADE_TASK_TIMEOUT } from './step-timeouts';
import { catchInto, childExecution, finishing } from './task-policy';

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
      rolloutTask(this, name, fn, {
        action: 'record-host',
        comment: 'Record the host result in the rollout',
        input: { 'rollout.$': '$.rollout', 'wave.$': '$.wave', 'hostId.$': '$.item.hostId', 'mode.$': '$.mode', ...extra },
        resultPath: '$.recorded',
      });
    const recordOk = record('RecordHost', { 'output.$': '$.child.output' });
    const recordFailed = record('RecordHostFailure', { 'error.$': '$.error' });
    // a rollback batch holds hosts of any wave: each item names its own (next-rollback-batch)
    const recordRolledBack = record('RecordRolledBack', { 'wave.$': '$.item.wave' });
    const recordRollbackFailed = record('RecordRollbackFailed', { 'wave.$': '$.item.wave', 'error.$': '$.error' });
    const hostDone = new Succeed(this, 'HostDone');
    // a host whose result cannot be recorded must not sink its batch: the wave evaluation re-reads the registry
    for (const r of [recordOk, recordFailed, recordRolledBack, recordRollbackFailed]) finishing(r, hostDone, hostDone, '$.recordError');

    const claim = rolloutTask(this, 'ClaimHost', fn, {
      action: 'claim-host',
      comment: 'Run this host only while the wave is within budget and the rollout not stopping',
      input: { 'rollout.$': '$.rollout', 'wave.$': '$.wave', 'hostId.$': '$.item.hostId' },
      resultPath: '$.claim',
    });
    catchInto(claim, recordFailed);
    const upgrade = childExecution(this, 'UpgradeHost', {
      stateMachine: props.hostUpgrade,
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
      timeout: UPGRADE_TASK_TIMEOUT,
      onError: recordFailed,
    });
    upgrade.next(recordOk);

    const rollback = childExecution(this, 'RollbackHost', {
      stateMachine: props.hostRollback,
      // made by next-rollback-batch (core/rollout.ts childExecutionName): within 80 characters
      name: JsonPath.stringAt('$.item.executionName'),
      input: TaskInput.fromObject({
        hostId: JsonPath.stringAt('$.item.hostId'),
        backupId: JsonPath.stringAt('$.item.backupId'),
        // next-rollback-batch's item: true only when the operator forced the rollout's rollback
        force: JsonPath.stringAt('$.item.force'),
        reason: JsonPath.format('rollback of rollout {}', JsonPath.stringAt('$.rollout.rolloutId')),
        requestedBy: JsonPath.stringAt('$.rollout.requestedBy'),
      }),
      resultSelector: { 'output.$': '$.Output' },
      resultPath: '$.child',
      timeout: RESTORE_TASK_TIMEOUT,
      onError: recordRollbackFailed,
    });
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

    this.stateMachine = new FleetwaveStateMachine(this, 'StateMachine', {
      definition: hosts,
      timeout: Duration.hours(24),
      comment: 'A batch of one wave: one HostUpgrade (or HostRollback) child execution per host',
      logGroup: props.logGroup,
      invokes: [fn],
      children: [props.hostUpgrade, props.hostRollback],
    });
  }
}

