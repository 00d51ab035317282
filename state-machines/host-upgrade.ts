/**
 * HostUpgrade — upgrade one Semaphor host, never losing its data.
 *
 * Input (console or FleetRollout):
 *   {"hostId": "acme-prod-1", "version": "1.6.0", "allowDestructive": false,
 *    "rolloutId": null, "requestedBy": "alice"}
 *
 * Steps:
 *   1. Init             keep the input, make room for step outcomes
 *   2. BeginRun         begin-run: validate the request (host known, release in the
 *                       catalog, not `latest`), take the host lease (fencing token),
 *                       create the host run. Throws HostLockedError / HostQuarantinedError /
 *                       UnknownReleaseError / ReleaseWithdrawnError / HostRetiredError /
 *                       InvalidTaskInputError → Refused.
 *   3. Preflight        SSM Fleetwave-Preflight; record-step applies the release rules
 *                       to the version the host really runs and decides proceed | noop.
 *                       noop (already on target) → VerifyNoop (health check only).
 *   4. PullImages       SSM Fleetwave-PullImages, before the backup: pulling changes nothing
 *                       on the host, and the backup is then as close to the restart as it
 *                       can be. Failure → Failed (nothing changed, no backup taken).
 *   5. PrepareBackup    prepare-backup: multipart upload + keys for data and config.
 *   6. Backup           SSM Fleetwave-Backup. Embedded: the services are stopped for the
 *                       copy and LEFT STOPPED until the restart, so no write is accepted
 *                       after the backup (it would be lost by a restore); external: they
 *                       keep serving, and the run reports how long writes were at risk.
 *   7. CompleteBackup   complete-backup: complete the multipart upload, re-read the
 *                       object and compare size + sha256; record-step marks the backup
 *                       verified. Unverified → AbortBackup → Failed.
 *   8. PinTags          SSM Fleetwave-PinTags (atomic); failure → Failed (file unchanged).
 *                       Any end between the backup and the restart first starts the
 *                       services the backup stopped again (StartAgain…: the restart
 *                       document on the unchanged configuration): the host is as it was.
 *   9. Restart          SSM Fleetwave-Restart; from here on a failure restores.
 *  10. WatchSchema      SSM Fleetwave-WatchSchema.
 *  11. HealthCheck      SSM Fleetwave-HealthCheck: N consecutive passes, all three
 *                       services on the target. A timed-out Restart/WatchSchema comes
 *                       here too: the host's real state is probed before restoring.
 *  12. FinishSucceeded  finish-run: outcome succeeded, lease released, audit; the run's
 *                       summary and `host show` say how long its write window was
 *                       (core/host-run/write-window.ts).
 *   R. Restore          HostRollback as a child execution (startExecution.sync:2) with
 *                       the backup just taken, under this run's lease; then
 *                       FinishRestored (outcome restored, execution fails with
 *                       UpgradeRestored) or FinishRollbackFailed (host quarantined,
 *                       alert published, execution fails with RollbackFailed).
 *
 * Lambda tasks called: begin-run, send-step (a `.waitForTaskToken` per host step,
 * answered by run-events: state-machines/host-step.ts), record-step, prepare-backup
 * (→ BackupUpload, no URLs), complete-backup, finish-run. Each task's contract (event →
 * result, errors by name) is stated once, in its handler's docblock and event schema
 * (lambdas/<task>/handler.ts); docs/contracts.md lists them.
 */
import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import {
  Choice,
  Condition,
  JsonPath,
  Pass,
  Succeed,
  TaskInput,
  type IChainable,
  type IStateMachine,
  type StateMachine,
} from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { HostStep } from '../core/models';
import { FleetwaveStateMachine } from './fleetwave-state-machine';
import { HostStepStates, pascal, verdictOk, type HostStepFunctions } from './host-step';
import { beginRunTask, failWithRunSummary, finishRunBroken, finishRunTask, hostRunInit } from './host-run-states';
import { HOST_UPGRADE_TIMEOUT, RESTORE_TASK_TIMEOUT } from './step-timeouts';
import { catchInto, childExecution, finishing, lambdaTask } from './task-policy';

export interface HostUpgradeFunctions extends HostStepFunctions {
  readonly beginRun: IFunction;
  readonly finishRun: IFunction;
  readonly prepareBackup: IFunction;
  readonly completeBackup: IFunction;
}

export interface HostUpgradeProps {
  readonly functions: HostUpgradeFunctions;
  readonly rollback: IStateMachine;
  readonly logGroup: ILogGroup;
  readonly stateMachineName?: string;
}

export class HostUpgrade extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: HostUpgradeProps) {
    super(scope, id);
    const fns = props.functions;

    // ── terminal paths ──────────────────────────────────────────────────────
    const finish = (name: string, outcome: string | null, failedStep: string | null) =>
      finishRunTask(this, name, fns.finishRun, {
        comment: `Record the run's end (${outcome ?? 'classified from the failing step'}) and release the lease`,
        outcome,
        failedStep,
      });
    const failed = failWithRunSummary(this, 'UpgradeFailed');
    const finishBroken = finishRunBroken(this, 'finish-run could not record the outcome; check the registry and the host lease');
    const finishFailed = (name: string, failedStep: string) => finishing(finish(name, null, failedStep), failed, finishBroken);

    // ── restore branch: HostRollback as a child, under this run's lease ─────
    const finishRestored = finishing(finish('FinishRestored', 'restored', null), failWithRunSummary(this, 'UpgradeRestored'), finishBroken);
    const finishRollbackFailed = finishing(finish('FinishRollbackFailed', 'rollback-failed', null), failWithRunSummary(this, 'RollbackFailed'), finishBroken);

    const restore = childExecution(this, 'Restore', {
      stateMachine: props.rollback,
      comment: 'Run HostRollback with the backup this run took, under this run\'s lease',
      name: JsonPath.format('{}-restore', JsonPath.stringAt('$.run.runId')),
      input: TaskInput.fromObject({
        'hostId.$': '$.run.hostId',
        'backupId.$': '$.backup.backupId',
        reason: JsonPath.format('automatic restore: {} failed', JsonPath.stringAt('$.verdict.failedStep')),
        'parentRunId.$': '$.run.runId',
        'leaseToken.$': '$.run.leaseToken',
        // From the run, not the input: begin-run always sets both, whereas a path to an
        // absent input field (requestedBy is optional) fails the execution with
        // States.Runtime, which no Catch handles: the host would be left unrestored.
        'requestedBy.$': '$.run.requestedBy',
        // the restore is verified with the run's own health-check policy
        'healthCheck.$': '$.run.healthCheck',
      }),
      resultSelector: { 'output.$': '$.Output' },
      resultPath: '$.restore',
      timeout: RESTORE_TASK_TIMEOUT,
      onError: finishRollbackFailed,
    });
    restore.next(finishRestored);

    /** Mark which step failed, so the restore reason and classification name it. */
    const toRestore = (step: string) =>
      new Pass(this, `RestoreAfter${step}`, {
        parameters: { ok: false, failedStep: step, 'classification.$': '$.verdict.classification', 'message.$': '$.verdict.message' },
        resultPath: '$.verdict',
      }).next(restore);
    // failedStep must be the step id (`health-check`), not the state-name form
    // (`HealthCheck`): finish-run refuses anything that is not a HostStep, and a
    // refused finish would leave the run open and the lease held.
    const errorToRestore = (step: HostStep) =>
      new Pass(this, `RestoreAfterError${pascal(step)}`, {
        parameters: { ok: false, failedStep: step, classification: null },
        resultPath: '$.verdict',
      }).next(restore);

    // ── the happy path, step by step ────────────────────────────────────────
    const init = hostRunInit(this);
    const beginRun = beginRunTask(this, 'BeginRun', fns.beginRun, {
      kind: 'upgrade',
      comment: 'Validate the request, take the host lease, create the run',
      resultPath: '$.run',
    });

    const stepOpts = (step: ConstructorParameters<typeof HostStepStates>[1]['step'], onError: IChainable, extra?: Record<string, unknown>, label?: string) =>
      new HostStepStates(this, { step, functions: fns, onError, extra, label });

    const preflight = stepOpts('preflight', finishFailed('FinishPreflightError', 'preflight'), {
      'targetVersion.$': '$.run.targetVersion',
    });
    /**
     * Embedded: the backup left the services stopped for the restart. A run that ends before its
     * restart starts them again first, on the unchanged configuration (the restart document:
     * compose up -d), whatever that says; its verdict and error are kept aside, so the finish
     * names the failure that ended the run.
     */
    const startAgainThen = (label: string, then: IChainable): IChainable => {
      const again = new HostStepStates(this, {
        step: 'restart',
        label: `StartAgain${label}`,
        functions: fns,
        onError: then,
        verdictPath: '$.startedAgain',
        errorPath: '$.startAgainError',
      });
      again.next(then);
      // Two Choices, not And(IsPresent, BooleanEquals): a backup that failed printed no such field,
      // and a comparison's Variable must be a path that exists in the input
      // (https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html, Choice Rules (JSONPath)).
      const stopped = '$.steps.backup.result.servicesStopped';
      return new Choice(this, `BackupStoppedServices${label}`)
        .when(
          Condition.isPresent(stopped),
          new Choice(this, `StartAgainNeeded${label}`).when(Condition.booleanEquals(stopped, true), again.startState).otherwise(then),
        )
        .otherwise(then);
    };
    const abortBackup = lambdaTask(this, 'AbortBackup', {
      fn: fns.completeBackup,
      comment: 'Abort the multipart upload so no partial object ever appears',
      payload: TaskInput.fromObject({ 'run.$': '$.run', 'target.$': '$.backup', abort: true }),
      resultPath: JsonPath.DISCARD,
      timeout: Duration.seconds(60),
    });
    // the upload is aborted or not, the services are started again and the run ends failed at the backup step
    const backupFailedFinish = startAgainThen('AfterBackupFailed', finishFailed('FinishBackupFailed', 'backup'));
    finishing(abortBackup, backupFailedFinish, backupFailedFinish, '$.abortError');

    const pull = stepOpts('pull-images', finishFailed('FinishPullError', 'pull-images'), { 'version.$': '$.run.targetVersion' });
    const prepareBackup = catchInto(
      lambdaTask(this, 'PrepareBackup', {
        fn: fns.prepareBackup,
        comment: 'Start the multipart upload for the data and choose the part size',
        payload: TaskInput.fromObject({ 'run.$': '$.run', 'estimatedBytes.$': '$.estimatedBytes' }),
        resultPath: '$.backup',
        timeout: Duration.seconds(60),
      }),
      finishFailed('FinishPrepareBackupError', 'backup'),
    );
    const backup = stepOpts('backup', abortBackup, { 'target.$': '$.backup' });
    const completeBackup = catchInto(
      lambdaTask(this, 'CompleteBackup', {
        fn: fns.completeBackup,
        comment: 'Complete the upload, re-read the object, compare size and sha256',
        payload: TaskInput.fromObject({ 'run.$': '$.run', 'target.$': '$.backup', 'backupResult.$': '$.steps.backup.result' }),
        resultPath: '$.backup.verification',
        timeout: Duration.minutes(15),
      }),
      abortBackup,
    );
    const recordBackup = catchInto(
      lambdaTask(this, 'RecordVerification', {
        fn: fns.recordStep,
        comment: 'Mark the backup verified (or failed) in the registry',
        payload: TaskInput.fromObject({ 'run.$': '$.run', 'outcome.$': '$.steps.backup', 'backup.$': '$.backup', verification: true }),
        resultPath: '$.verdict',
        timeout: Duration.seconds(60),
      }),
      abortBackup,
    );
    const pin = stepOpts('pin-tags', startAgainThen('AfterPinError', finishFailed('FinishPinError', 'pin-tags')), { 'version.$': '$.run.targetVersion' });
    const restart = stepOpts('restart', errorToRestore('restart'));
    const watch = stepOpts('watch-schema', errorToRestore('watch-schema'));
    const health = stepOpts('health-check', errorToRestore('health-check'), { 'version.$': '$.run.targetVersion' });
    const verifyNoop = stepOpts('health-check', finishFailed('FinishVerifyError', 'health-check'), { 'version.$': '$.run.targetVersion' }, 'VerifyNoop');

    const finishSucceeded = finishing(finish('FinishSucceeded', 'succeeded', null), new Succeed(this, 'Upgraded', { outputPath: '$.summary' }), finishBroken);
    const finishNoop = finishing(finish('FinishNoop', 'noop', null), new Succeed(this, 'AlreadyOnTarget', { outputPath: '$.summary' }), finishBroken);

    init.next(beginRun);
    beginRun.next(preflight.startState);
    // the registry's version may be stale: from here on, the host's own word counts
    const adoptVersion = new Pass(this, 'AdoptObservedVersion', {
      inputPath: '$.verdict.fromVersion',
      resultPath: '$.run.fromVersion',
    });
    preflight.next(
      new Choice(this, 'PreflightVerdict')
        .when(Condition.and(verdictOk(), Condition.stringEquals('$.verdict.decision', 'noop')), verifyNoop.startState)
        .when(verdictOk(), adoptVersion)
        .otherwise(finishFailed('FinishPreflightFailed', 'preflight')),
    );
    // the preflight verdict's size estimate, for prepare-backup: pull-images' verdict replaces $.verdict
    const keepEstimate = new Pass(this, 'KeepDataEstimate', {
      inputPath: '$.verdict.estimatedBytes',
      resultPath: '$.estimatedBytes',
    });
    adoptVersion.next(keepEstimate);
    keepEstimate.next(pull.startState);
    verifyNoop.next(new Choice(this, 'NoopVerified').when(verdictOk(), finishNoop).otherwise(finishFailed('FinishNoopUnhealthy', 'health-check')));
    pull.next(new Choice(this, 'Pulled').when(verdictOk(), prepareBackup).otherwise(finishFailed('FinishPullFailed', 'pull-images')));
    prepareBackup.next(backup.startState);
    backup.next(new Choice(this, 'BackupTaken').when(verdictOk(), completeBackup).otherwise(abortBackup));
    completeBackup.next(recordBackup);
    // unverified after the upload was completed: the objects are tagged unverified in S3 too (complete-backup), then the run fails
    const finishUnverified = startAgainThen('AfterBackupUnverified', finishFailed('FinishBackupUnverified', 'backup'));
    const markUnverified = lambdaTask(this, 'MarkBackupUnverified', {
      fn: fns.completeBackup,
      comment: 'Tag the unverified backup objects unverified in S3, so they never look usable',
      payload: TaskInput.fromObject({ 'run.$': '$.run', 'target.$': '$.backup', markUnverified: true }),
      resultPath: JsonPath.DISCARD,
      timeout: Duration.seconds(60),
    });
    finishing(markUnverified, finishUnverified, finishUnverified, '$.markError');
    recordBackup.next(new Choice(this, 'BackupVerified').when(verdictOk(), pin.startState).otherwise(markUnverified));
    pin.next(
      new Choice(this, 'Pinned').when(verdictOk(), restart.startState).otherwise(startAgainThen('AfterPinFailed', finishFailed('FinishPinFailed', 'pin-tags'))),
    );
    const timedOut = (key: string) => Condition.stringEquals(`$.steps.${key}.status`, 'TimedOut');
    restart.next(
      new Choice(this, 'Restarted')
        .when(verdictOk(), watch.startState)
        .when(timedOut('restart'), health.startState) // probe before restoring
        .otherwise(toRestore('restart')),
    );
    watch.next(
      new Choice(this, 'SchemaSynced')
        .when(verdictOk(), health.startState)
        .when(timedOut('watchSchema'), health.startState) // probe before restoring
        // an expired license fails the old version just as well: the operator must renew it, not restore
        .when(Condition.stringEquals('$.verdict.classification', 'license-expired'), finishFailed('FinishLicenseExpired', 'watch-schema'))
        .otherwise(toRestore('watch-schema')),
    );
    health.next(new Choice(this, 'Healthy').when(verdictOk(), finishSucceeded).otherwise(toRestore('health-check')));

    this.stateMachine = new FleetwaveStateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      definition: init,
      timeout: HOST_UPGRADE_TIMEOUT,
      comment: 'Upgrade one Semaphor host: preflight, pull, verified backup, pin, restart, verify; restore on failure',
      logGroup: props.logGroup,
      invokes: [fns.beginRun, fns.sendStep, fns.recordStep, fns.prepareBackup, fns.completeBackup, fns.finishRun],
      children: [props.rollback],
    });
  }
}
