/**
 * ComplianceCheck — read what every host runs and report version-parity drift.
 *
 * Input (EventBridge Scheduler, the CLI, or the Step Functions console):
 *   {}                   every fleet
 *   {"fleetId": "acme"}  one fleet
 *
 * Steps:
 *   1. Plan           compliance-plan {request, executionArn} → $.plan
 *                     = {checkId, hostCount, batchCount, batches: [{checkId, index}]}.
 *                     Hosts are grouped by compose dir (the Inventory document's one
 *                     parameter) into batches of ≤ 50 instances (SendCommand's limit);
 *                     the host lists go to S3 (compliance/<checkId>/plan.json), the
 *                     state only carries batch indexes. Opens the check in the registry.
 *                     Unknown fleet → FleetNotFoundError → MarkFailed.
 *   2. Batches        Map over $.plan.batches, MaxConcurrency `batchConcurrency`:
 *        SendBatch      compliance-send {checkId, index} → {commandId, sent, unreachable}:
 *                       offline / unmanaged instances are UNKNOWN at once; one
 *                       SendCommand of Fleetwave-Inventory to the rest, with SSM's
 *                       MaxConcurrency / MaxErrors as the per-batch rate control;
 *                       idempotent (S3 record + ListCommands by comment).
 *        WaitInventory  Wait `pollInterval`.
 *        CollectBatch   compliance-collect {checkId, index} → {status: Pending|Done, reached, unknown}:
 *                       Pending until every invocation is terminal or the batch's
 *                       deadline (delivery + execution timeout + grace) passed, which
 *                       caps the loop; observations to S3.
 *        BatchFailed    any error of the batch ends only that iteration: its hosts are
 *                       reported UNKNOWN (no-inventory) by Finish, never compliant.
 *      The Map's result is discarded (DISCARD): the state does not grow with the fleet.
 *   3. Finish         compliance-finish {action: "finish", checkId} → $.summary
 *                     = {checkId, status, hosts, compliant, nonCompliant, unknown, reportKey, drift}:
 *                     evaluate (core/compliance), keep every result in the registry,
 *                     JSON report at compliance/<checkId>.json, one SSM Compliance item
 *                     per host (Custom:FleetwaveVersionParity), CloudWatch
 *                     Fleetwave/NonCompliantHosts (+ UnknownHosts, CompliantHosts) per
 *                     fleet, SNS alert when a fleet's drift appears or clears.
 *   F. MarkFailed     compliance-finish {action: "fail", executionArn, error} marks the
 *                     check failed; the execution fails with the original error.
 *
 * Output: $.summary.
 *
 * History bound: about 25 + batches × (13 + 9 × extra polls) events, so one
 * execution covers ~1,000 batches (~50,000 hosts that share a compose dir)
 * within Step Functions' 25,000-event limit; every Task has a timeout, Retry on
 * TRANSIENT_ERRORS and a Catch.
 */
import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import { Choice, Condition, Fail, JsonPath, Map as MapState, Pass, Succeed, TaskInput, Wait, WaitTime, type StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { FleetwaveStateMachine } from './fleetwave-state-machine';
import { catchInto, finishing, lambdaTask } from './task-policy';

export interface ComplianceCheckFunctions {
  readonly plan: IFunction;
  readonly send: IFunction;
  readonly collect: IFunction;
  readonly finish: IFunction;
}

export interface ComplianceCheckProps {
  readonly functions: ComplianceCheckFunctions;
  readonly logGroup: ILogGroup;
  /** Wait between looks at a batch's invocations. Default 10 s. */
  readonly pollInterval?: Duration;
  /** Batches in flight at once. Default 5. */
  readonly batchConcurrency?: number;
  /** Execution timeout. Default 1 hour (the default schedule's period). */
  readonly timeout?: Duration;
  readonly stateMachineName?: string;
}

export class ComplianceCheck extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: ComplianceCheckProps) {
    super(scope, id);
    const fns = props.functions;

    const markFailed = lambdaTask(this, 'MarkFailed', {
      fn: fns.finish,
      comment: 'Mark the check failed in the registry',
      payload: TaskInput.fromObject({ action: 'fail', 'executionArn.$': '$$.Execution.Id', 'error.$': '$.error' }),
      resultPath: '$.failure',
      timeout: Duration.seconds(60),
    });
    const failed = new Fail(this, 'CheckFailed', {
      errorPath: JsonPath.stringAt('$.failure.error'),
      causePath: JsonPath.stringAt('$.failure.cause'),
    });
    finishing(
      markFailed,
      failed,
      new Fail(this, 'MarkFailedFailed', { error: 'ComplianceCheckFailed', cause: 'the check failed and could not be marked failed in the registry' }),
      '$.markError',
    );

    const plan = catchInto(
      lambdaTask(this, 'Plan', {
        fn: fns.plan,
        comment: 'Batch the hosts in scope (plan to S3) and open the check',
        payload: TaskInput.fromObject({ 'request.$': '$', 'executionArn.$': '$$.Execution.Id' }),
        resultPath: '$.plan',
        timeout: Duration.seconds(120),
      }),
      markFailed,
    );

    // ── one batch: send, then wait and collect until done (capped by the batch deadline)
    const batchRef = { 'checkId.$': '$.checkId', 'index.$': '$.index' };
    const batchFailed = new Pass(this, 'BatchFailed', {
      comment: 'The batch ends here; Finish reports its hosts UNKNOWN (no-inventory)',
    });
    const send = catchInto(
      lambdaTask(this, 'SendBatch', {
        fn: fns.send,
        comment: 'One Fleetwave-Inventory SendCommand for the online instances of the batch, never twice',
        payload: TaskInput.fromObject(batchRef),
        resultPath: '$.sent',
        timeout: Duration.seconds(60),
      }),
      batchFailed,
    );
    const wait = new Wait(this, 'WaitInventory', { time: WaitTime.duration(props.pollInterval ?? Duration.seconds(10)) });
    const collect = catchInto(
      lambdaTask(this, 'CollectBatch', {
        fn: fns.collect,
        comment: 'Invocation statuses of the batch; Pending until all are terminal or the deadline passed',
        payload: TaskInput.fromObject(batchRef),
        resultPath: '$.collected',
        timeout: Duration.seconds(120),
      }),
      batchFailed,
    );
    const collected = new Choice(this, 'Collected')
      .when(Condition.stringEquals('$.collected.status', 'Pending'), wait)
      .otherwise(new Succeed(this, 'BatchDone'));
    send.next(wait);
    wait.next(collect);
    collect.next(collected);

    const batches = new MapState(this, 'Batches', {
      comment: 'Inventory every batch; results go to S3, not to the state',
      itemsPath: JsonPath.stringAt('$.plan.batches'),
      maxConcurrency: props.batchConcurrency ?? 5,
      resultPath: JsonPath.DISCARD,
    });
    batches.itemProcessor(send);
    catchInto(batches, markFailed);

    const finish = catchInto(
      lambdaTask(this, 'Finish', {
        fn: fns.finish,
        comment: 'Evaluate; registry, S3 report, SSM Compliance items, metric, drift alert',
        payload: TaskInput.fromObject({ action: 'finish', 'checkId.$': '$.plan.checkId' }),
        resultPath: '$.summary',
        timeout: Duration.minutes(15),
      }),
      markFailed,
    );
    const output = new Pass(this, 'Output', { outputPath: '$.summary' });

    plan.next(batches);
    batches.next(finish);
    finish.next(output);
    output.next(new Succeed(this, 'Done'));

    this.stateMachine = new FleetwaveStateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      definition: plan,
      timeout: props.timeout ?? Duration.hours(1),
      comment: 'Read the running versions of every host and report version-parity drift',
      logGroup: props.logGroup,
      invokes: [fns.plan, fns.send, fns.collect, fns.finish],
    });
  }
}
