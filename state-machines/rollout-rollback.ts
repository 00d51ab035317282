/**
 * RolloutRollback — restore every host a rollout upgraded, and only those.
 *
 * Input (console, `fleetwave rollback --rollout R`, or FleetRollout's failure policy):
 *   {"rolloutId": "acme-1-6-0"}            every host the rollout upgraded
 *   {"rolloutId": "acme-1-6-0", "wave": 2} only that wave's hosts
 *   {"rolloutId": "acme-1-6-0", "force": true}  also hosts a later run changed
 *
 * Steps:
 *   1. Plan        rollout: plan-rollback — the rollout must exist → $.rollout.
 *   2. NextBatch   rollout: next-rollback-batch — up to 50 hosts whose run in this
 *                  rollout succeeded (not noop, not already restored), each with the
 *                  backup that run took. A host a later run changed (upgraded again,
 *                  or rolled back to another version) is recorded as refused and left
 *                  out unless the input has force: true (core/host-run/newer-changes.ts).
 *   3. RunBatch    RolloutBatch child in rollback mode: a HostRollback per host.
 *   4. Finish      when no host is left: rolled-back, or failed when any host's restore
 *                  failed (rollout: finish names them) → Fail RollbackFailed, its cause
 *                  naming those hosts; the rollout's status is the truth of its hosts.
 */
import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import { Choice, Condition, Fail, JsonPath, Pass, Succeed, type IStateMachine, type StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { FleetwaveStateMachine } from './fleetwave-state-machine';
import { rolloutTask, runBatchTask } from './rollout-tasks';
import { catchInto, failWithCaughtError } from './task-policy';

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
    const plan = rolloutTask(this, 'Plan', fn, {
      action: 'plan-rollback',
      comment: 'Check the rollout exists and record the rollback',
      input: { 'request.$': '$.input', 'executionArn.$': '$$.Execution.Id' },
      resultPath: '$.rollout',
    });
    catchInto(plan, failed);
    const next = rolloutTask(this, 'NextBatch', fn, {
      action: 'next-rollback-batch',
      comment: 'Up to 50 upgraded hosts not yet rolled back, with their backups',
      input: { 'rollout.$': '$.rollout', 'request.$': '$.input' },
      resultPath: '$.batch',
    });
    catchInto(next, failed);
    const run = runBatchTask(this, props.batch, 'rollback', 0, failed);
    const finish = rolloutTask(this, 'Finish', fn, {
      action: 'finish',
      comment: 'Mark the rollout rolled back and notify',
      input: { 'rollout.$': '$.rollout', status: 'rolled-back' },
      resultPath: '$.summary',
    });
    catchInto(finish, failed);

    init.next(plan);
    plan.next(next);
    next.next(new Choice(this, 'More').when(Condition.booleanEquals('$.batch.more', true), run).otherwise(finish));
    run.next(next);
    finish.next(
      new Choice(this, 'AllRestored')
        .when(
          Condition.stringEquals('$.summary.status', 'failed'),
          new Fail(this, 'RollbackFailed', { error: 'RollbackFailed', causePath: JsonPath.stringAt('$.summary.cause') }),
        )
        .otherwise(new Succeed(this, 'Done', { outputPath: '$.summary' })),
    );

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
