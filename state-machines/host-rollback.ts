/**
 * HostRollback — restore one host from a backup.
 *
 * Input (Step Functions console, CLI, or HostUpgrade's restore branch):
 *   {"hostId": "acme-prod-1", "reason": "data looks wrong after 1.6.0"}
 *   {"hostId": "acme-prod-1", "backupId": "9b2f…", "reason": "..."}
 *   {"hostId": "acme-prod-1", "toVersion": "1.4.0", "reason": "..."}
 *   {..., "force": true}   restore over a later run's changes (see below)
 * Without backupId/toVersion the latest verified backup is used; with
 * toVersion, the latest verified backup taken at that version. A backup that a
 * later successful run changed the host after (a later upgrade, or a rollback
 * to another version) is refused with NewerChangesError naming those runs,
 * unless force is set. HostUpgrade adds parentRunId + leaseToken so the child works under
 * the parent's lease instead of being refused by it.
 *
 * Steps:
 *   1. Init            keep the input
 *   2. BeginRollback   begin-run {kind:"rollback"}: validate, choose the backup
 *                      (must be verified), take (or inherit) the lease, create the run.
 *                      Refusals (unknown host/backup, host locked, later changes) → Refused.
 *   3. Restore         SSM Fleetwave-Restore: download and verify sha256 + listing
 *                      before touching anything, stop, restore config + data, start.
 *   4. Verify          SSM Fleetwave-HealthCheck at the backup's version.
 *   5. FinishRestored  finish-run: outcome succeeded (rollback), lease released.
 *   F. FinishFailed    finish-run: outcome rollback-failed, host quarantined (stays
 *                      locked), alert published; the execution fails with RollbackFailed.
 *
 * Output: {"status": "restored", "hostId", "version", "backupId", "runId"}
 */
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import { Choice, Pass, Succeed, type StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { FleetwaveStateMachine } from './fleetwave-state-machine';
import { beginRunTask, failWithRunSummary, finishRunBroken, finishRunTask, hostRunInit } from './host-run-states';
import { HostStepStates, verdictOk, type HostStepFunctions } from './host-step';
import { HOST_ROLLBACK_TIMEOUT } from './step-timeouts';
import { finishing } from './task-policy';

export interface HostRollbackFunctions extends HostStepFunctions {
  readonly beginRun: IFunction;
  readonly finishRun: IFunction;
}

export interface HostRollbackProps {
  readonly functions: HostRollbackFunctions;
  readonly logGroup: ILogGroup;
  readonly stateMachineName?: string;
}

export class HostRollback extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: HostRollbackProps) {
    super(scope, id);
    const fns = props.functions;

    const finish = (name: string, outcome: string) =>
      finishRunTask(this, name, fns.finishRun, { comment: `Record the rollback's end (${outcome})`, outcome });
    const finishBroken = finishRunBroken(this, 'finish-run could not record the outcome; the host must be checked by hand');
    const finishFailed = finishing(finish('FinishRollbackFailed', 'rollback-failed'), failWithRunSummary(this, 'RollbackFailed'), finishBroken);

    const init = hostRunInit(this);
    const begin = beginRunTask(this, 'BeginRollback', fns.beginRun, {
      kind: 'rollback',
      comment: 'Validate, choose a verified backup, take or inherit the host lease, create the run',
      resultSelector: { 'run.$': '$.run', 'backup.$': '$.backup' },
      resultPath: '$.begun',
    });
    const unpack = new Pass(this, 'UseBackup', {
      parameters: {
        'input.$': '$.input',
        'run.$': '$.begun.run',
        'backup.$': '$.begun.backup',
        'steps.$': '$.steps',
        'verdict.$': '$.verdict',
        'error.$': '$.error',
      },
    });

    const restore = new HostStepStates(this, {
      step: 'restore',
      functions: fns,
      onError: finishFailed,
      extra: { 'backup.$': '$.backup' },
    });
    const verify = new HostStepStates(this, {
      step: 'health-check',
      label: 'Verify',
      functions: fns,
      onError: finishFailed,
      extra: { 'version.$': '$.run.targetVersion' },
    });
    const output = new Pass(this, 'Output', {
      parameters: {
        status: 'restored',
        'hostId.$': '$.run.hostId',
        'version.$': '$.run.targetVersion',
        'backupId.$': '$.backup.backupId',
        'runId.$': '$.run.runId',
      },
    });
    const finishRestored = finishing(finish('FinishRestored', 'succeeded'), output, finishBroken);

    init.next(begin);
    begin.next(unpack);
    unpack.next(restore.startState);
    restore.next(new Choice(this, 'Restored').when(verdictOk(), verify.startState).otherwise(finishFailed));
    verify.next(new Choice(this, 'Verified').when(verdictOk(), finishRestored).otherwise(finishFailed));
    output.next(new Succeed(this, 'Done'));

    this.stateMachine = new FleetwaveStateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      definition: init,
      timeout: HOST_ROLLBACK_TIMEOUT,
      comment: 'Restore one Semaphor host from a verified backup and verify it',
      logGroup: props.logGroup,
      invokes: [fns.beginRun, fns.sendStep, fns.recordStep, fns.finishRun],
    });
  }
}
