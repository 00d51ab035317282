/**
 * FleetRollout — upgrade a fleet wave by wave, staging before production.
 *
 * Input (console or `fleetwave rollout start`):
 *   {"fleetId": "acme", "version": "1.6.0", "allowDestructive": false, "requestedBy": "alice"}
 * Starting it again for the same fleet and version resumes the rollout: its
 * waves are kept and hosts that already succeeded are not upgraded again.
 *
 * Steps:
 *   1. Init, Plan        rollout: plan — check the request, plan the waves (registry;
 *                        never in the state), create or resume the rollout → $.rollout.
 *   2. NextWave          all waves done → FinishSucceeded.
 *   3. NeedsApproval     before the first production wave, when the fleet says so:
 *                        AwaitApproval (rollout: await-approval with a task token; the
 *                        execution waits for `fleetwave rollout approve`).
 *   4. NextBatch         rollout: next-batch — up to 50 hosts of the wave not yet done,
 *                        none once the wave is over its failure budget or a stop was asked.
 *   5. RunBatch          RolloutBatch child (startExecution.sync:2): each host a HostUpgrade
 *                        child with the fleet's concurrency; back to NextBatch.
 *   6. EvaluateWave      rollout: evaluate-wave — failures against the wave's threshold.
 *   7. Bake              wait the fleet's bake time, then the next wave.
 *   F. Failure policy    halt → FinishHalted; rollback-wave / rollback-all → RolloutRollback
 *                        child for this wave / the whole rollout → FinishRolledBack.
 *   S. Stop              `fleetwave rollout stop` lets running hosts finish, starts no
 *                        new one → FinishStopped.
 * Every finish sends an SNS message (rollout: finish).
 */
import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import {
  Choice,
  Condition,
  Fail,
  IntegrationPattern,
  JsonPath,
  Pass,
  Succeed,
  TaskInput,
  Timeout,
  Wait,
  WaitTime,
  type IStateMachine,
  type StateMachine,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { FleetwaveStateMachine } from './fleetwave-state-machine';
import { rolloutTask, runBatchTask } from './rollout-tasks';
import { catchInto, childExecution, failWithCaughtError, finishing, TRANSIENT_ERRORS } from './task-policy';

export interface FleetRolloutProps {
  readonly rolloutFn: IFunction;
  readonly batch: IStateMachine;
  readonly rolloutRollback: IStateMachine;
  readonly logGroup: ILogGroup;
  /** How long production may wait for an approval. */
  readonly approvalTimeout?: Duration;
}

export class FleetRollout extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: FleetRolloutProps) {
    super(scope, id);
    const fn = props.rolloutFn;
    /** Mark the rollout `status` and notify, then end in `then`. */
    const finish = (name: string, status: string, then: Succeed | Fail) =>
      finishing(
        rolloutTask(this, name, fn, {
          action: 'finish',
          comment: `Mark the rollout ${status} and notify`,
          input: { 'rollout.$': '$.rollout', status, 'wave.$': '$.waveResult', 'error.$': '$.error' },
          resultPath: '$.summary',
        }),
        then,
        new Fail(this, `${name}Broken`, { error: 'FinishRolloutFailed', cause: 'the rollout outcome could not be recorded' }),
      );
    const finishSucceeded = finish('FinishSucceeded', 'succeeded', new Succeed(this, 'RolledOut', { outputPath: '$.summary' }));
    const finishHalted = finish('FinishHalted', 'halted', new Fail(this, 'Halted', { error: 'RolloutHalted', causePath: JsonPath.stringAt('$.summary.status') }));
    const finishRolledBack = finish(
      'FinishRolledBack',
      'rolled-back',
      new Fail(this, 'RolledBack', { error: 'RolloutRolledBack', causePath: JsonPath.stringAt('$.summary.status') }),
    );
    const finishStopped = finish('FinishStopped', 'stopped', new Succeed(this, 'Stopped', { outputPath: '$.summary' }));
    const finishFailed = finish('FinishFailed', 'failed', failWithCaughtError(this, 'Failed'));

    const init = new Pass(this, 'Init', { parameters: { 'input.$': '$', pos: { wave: 0 }, waveResult: {}, error: {} } });
    const plan = rolloutTask(this, 'Plan', fn, {
      action: 'plan',
      comment: 'Plan the waves (or resume), in the registry',
      input: { 'request.$': '$.input', 'executionArn.$': '$$.Execution.Id' },
      resultPath: '$.rollout',
      timeout: Duration.seconds(120),
    });
    catchInto(plan, failWithCaughtError(this, 'Refused'));

    const nextBatch = rolloutTask(this, 'NextBatch', fn, {
      action: 'next-batch',
      comment: 'Up to 50 hosts of the wave that are not done yet',
      input: { 'rollout.$': '$.rollout', 'wave.$': '$.pos.wave' },
      resultPath: '$.batch',
    });
    catchInto(nextBatch, finishFailed);

    const runBatch = runBatchTask(this, props.batch, 'upgrade', JsonPath.numberAt('$.pos.wave'), finishFailed);
    runBatch.next(nextBatch);

    const evaluate = rolloutTask(this, 'EvaluateWave', fn, {
      action: 'evaluate-wave',
      comment: "Judge the wave's failures against its threshold",
      input: { 'rollout.$': '$.rollout', 'wave.$': '$.pos.wave' },
      resultPath: '$.waveResult',
    });
    catchInto(evaluate, finishFailed);

    const rollbackChild = (name: string, wave: boolean) =>
      childExecution(this, name, {
        stateMachine: props.rolloutRollback,
        input: TaskInput.fromObject({
          rolloutId: JsonPath.stringAt('$.rollout.rolloutId'),
          ...(wave ? { wave: JsonPath.numberAt('$.pos.wave') } : {}),
          reason: JsonPath.format('failure policy after wave {}', JsonPath.stringAt('$.waveResult.name')),
          requestedBy: JsonPath.stringAt('$.rollout.requestedBy'),
        }),
        resultPath: JsonPath.DISCARD,
        timeout: Duration.hours(24),
        onError: finishFailed,
      }).next(finishRolledBack);
    const policy = new Choice(this, 'FailurePolicy')
      .when(Condition.stringEquals('$.rollout.failurePolicy', 'rollback-wave'), rollbackChild('RollbackWave', true))
      .when(Condition.stringEquals('$.rollout.failurePolicy', 'rollback-all'), rollbackChild('RollbackAll', false))
      .otherwise(finishHalted);

    const bake = new Wait(this, 'Bake', { time: WaitTime.secondsPath('$.rollout.bakeSeconds') });
    const advance = new Pass(this, 'Advance', { parameters: { 'wave.$': 'States.MathAdd($.pos.wave, 1)' }, resultPath: '$.pos' });

    const approval = new LambdaInvoke(this, 'AwaitApproval', {
      lambdaFunction: fn,
      integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      comment: 'Staging is done: wait for `fleetwave rollout approve` before production',
      payload: TaskInput.fromObject({ action: 'await-approval', 'rollout.$': '$.rollout', taskToken: JsonPath.taskToken }),
      resultPath: '$.approval',
      taskTimeout: Timeout.duration(props.approvalTimeout ?? Duration.days(7)),
    });
    approval.addRetry({ errors: [...TRANSIENT_ERRORS], interval: Duration.seconds(2), maxAttempts: 6, backoffRate: 2 });
    catchInto(approval, finishStopped, { errors: ['RolloutStopped'] });
    catchInto(approval, finishFailed);
    approval.next(nextBatch);

    const nextWave = new Choice(this, 'NextWave')
      .when(Condition.numberGreaterThanEqualsJsonPath('$.pos.wave', '$.rollout.waveCount'), finishSucceeded)
      .when(
        Condition.and(
          Condition.booleanEquals('$.rollout.approvalBeforeProduction', true),
          Condition.numberEqualsJsonPath('$.pos.wave', '$.rollout.firstProductionWave'),
        ),
        approval,
      )
      .otherwise(nextBatch);

    init.next(plan);
    plan.next(nextWave);
    nextBatch.next(
      new Choice(this, 'HasBatch')
        .when(Condition.booleanEquals('$.batch.stopRequested', true), finishStopped)
        .when(Condition.booleanEquals('$.batch.more', true), runBatch)
        .otherwise(evaluate),
    );
    evaluate.next(new Choice(this, 'WaveOk').when(Condition.booleanEquals('$.waveResult.ok', true), bake).otherwise(policy));
    bake.next(advance);
    advance.next(nextWave);

    this.stateMachine = new FleetwaveStateMachine(this, 'StateMachine', {
      definition: init,
      timeout: Duration.days(14),
      comment: 'Upgrade a fleet in waves, staging first, with failure thresholds, approval and rollback policy',
      logGroup: props.logGroup,
      invokes: [fn],
      children: [props.batch, props.rolloutRollback],
    });
  }
}
