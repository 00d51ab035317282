/**
 * RolloutRollback — restore every host a rollout upgraded, and only those.
 *
 * Input (console, `fleetwave rollback --rollout R`, or FleetRollout's failure policy):
 *   {"rolloutId": "acme-1-6-0"}            every host the rollout upgraded
 *   {"rolloutId": "acme-1-6-0", "wave": 2} only that wave's hosts
 *
 * Steps:
 *   1. Plan        rollout: plan-rollback — the rollout must exist → $.rollout.
 *   2. NextBatch   rollout: next-rollback-batch — up to 50 hosts whose run in this
 *                  rollout succeeded (not noop, not already restored), each with the
 *                  backup that run took.
 *   3. RunBatch    RolloutBatch child in rollback mode: a HostRollback per host.
 *   4. Finish      when no host is left.
 */
import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import { Choice, Condition, Pass, Succeed, TaskInput, type IStateMachine, type StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { FleetwaveStateMachine } from './fleetwave-state-machine';
import { runBatchTask } from './rollout-batch';
import { catchInto, failWithCaughtError, lambdaTask } from './task-policy';

export interface RolloutRollbackProps {
  readonly rolloutFn: IFunction;
  readonly batch: IStateMachine;
  readonly logGroup: ILogGroup;
}

export class RolloutRollback extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: RolloutRollbackProps) {
    super(scope, id);
    const fn = props.rolloutFn;
    const failed = failWithCaughtError(this, 'Failed');
    const init = new Pass(this, 'Init', { parameters: { 'input.$': '$' } });
    const plan = lambdaTask(this, 'Plan', {
      fn,
      comment: 'Check the rollout exists and record the rollback',
      payload: TaskInput.fromObject({ action: 'plan-rollback', 'request.$': '$.input', 'executionArn.$': '$$.Execution.Id' }),
      resultPath: '$.rollout',
      timeout: Duration.seconds(60),
    });
    catchInto(plan, failed);
    const next = lambdaTask(this, 'NextBatch', {
      fn,
      comment: 'Up to 50 upgraded hosts not yet rolled back, with their backups',
      payload: TaskInput.fromObject({ action: 'next-rollback-batch', 'rollout.$': '$.rollout', 'request.$': '$.input' }),
      resultPath: '$.batch',
      timeout: Duration.seconds(60),
    });
    catchInto(next, failed);
    const run = runBatchTask(this, props.batch, 'rollback', 0, failed);
    const finish = lambdaTask(this, 'Finish', {
      fn,
      comment: 'Mark the rollout rolled back and notify',
      payload: TaskInput.fromObject({ action: 'finish', 'rollout.$': '$.rollout', status: 'rolled-back' }),
      resultPath: '$.summary',
      timeout: Duration.seconds(60),
    });
    catchInto(finish, failed);

    init.next(plan);
    plan.next(next);
    next.next(new Choice(this, 'More').when(Condition.booleanEquals('$.batch.more', true), run).otherwise(finish));
    run.next(next);
    finish.next(new Succeed(this, 'Done', { outputPath: '$.summary' }));

    this.stateMachine = new FleetwaveStateMachine(this, 'StateMachine', {
      definition: init,
      timeout: Duration.days(2),
      comment: 'Restore every host a rollout upgraded, and only those',
      logGroup: props.logGroup,
      invokes: [fn],
      children: [props.batch],
    });
  }
}
