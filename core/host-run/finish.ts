/**
 * finish-run: record the run's outcome, release the lease (unless the run
 * works under a parent's), and on rollback-failed quarantine the host and
 * alert the operator.
 */
import { z } from 'zod';
import { classifyError } from '../classify';
import { HostRunContext, HostStep, RunOutcome } from '../models';
import { emptyAsNull, type HostRunDeps } from './context';
import { alertQuarantined, quarantineHost } from './quarantine';
import { causeMessage, operatorSentence, type RunSummary } from './summary';
import { writeWindowOf } from './write-window';

export const FinishRunEvent = z.object({
  run: HostRunContext,
  request: z.record(z.string(), z.unknown()),
  /** Set by the state machine on known paths; null lets the failing step decide. */
  outcome: RunOutcome.nullable().optional(),
  failedStep: HostStep.nullable().optional(),
  verdict: emptyAsNull(
    z
      .object({ ok: z.boolean(), classification: RunOutcome.nullable().optional(), message: z.string().nullable().optional(), failedStep: HostStep.optional() })
      .passthrough(),
  ),
  error: emptyAsNull(z.object({ Error: z.string(), Cause: z.string().optional() })),
  backup: emptyAsNull(z.object({ backupId: z.string() }).passthrough()),
  executionArn: z.string(),
});
export type FinishRunEvent = z.infer<typeof FinishRunEvent>;

export async function finishHostRun(event: FinishRunEvent, deps: HostRunDeps): Promise<RunSummary> {
  const { run } = event;
  const { store } = deps;
  // HostRollback hands over record-step's verdict as is: a failed one names its step in `step`
  const verdictStep = event.verdict?.ok === false ? HostStep.safeParse(event.verdict.step) : null;
  const failedStep = event.failedStep ?? event.verdict?.failedStep ?? (verdictStep?.success ? verdictStep.data : null);
  const outcome: RunOutcome =
    event.outcome ??
    (event.error ? classifyError(event.error.Error, failedStep) : (event.verdict?.classification ?? classifyError(null, failedStep)));
  const succeeded = outcome === 'succeeded' || outcome === 'noop';
  const cause = event.verdict?.classification && outcome === 'restored' ? `${event.verdict.classification}` : null;
  const message =
    (event.error ? `${event.error.Error}: ${causeMessage(event.error.Cause) ?? ''}` : null) ??
    event.verdict?.message ??
    (succeeded ? `${run.kind} to ${run.targetVersion} ${outcome}` : outcome);
  const request = event.request as { parentRunId?: string; requestedBy?: string; backupId?: string };
  const actor = request.requestedBy ?? event.executionArn;
  const rollbackFailed = outcome === 'rollback-failed';
  // A HostRollback started by HostUpgrade's restore branch quarantines the host at once, but
  // leaves the alert to the parent, whose Restore Catch always ends in this same outcome with
  // the rollout's context: one failure, one page (not one per execution).
  const restoreBranch = run.kind === 'rollback' && Boolean(request.parentRunId);
  // Quarantine and alert come first and are not fenced: a run that lost its lease (it outlived
  // the TTL, or another execution took the host over) must still leave the host locked and
  // the operator paged; only the run's own row is fenced (StaleLeaseError below).
  // A retried finish-run finds the host already quarantined by this run and pages no one twice.
  let quarantinedNow = false;
  if (rollbackFailed) quarantinedNow = await quarantineHost(store, run.hostId, `rollback failed during run ${run.runId}: ${message}`, event.executionArn);
  if (quarantinedNow && !restoreBranch) {
    await alertQuarantined(deps.alerts, 'ROLLBACK_FAILED', {
      hostId: run.hostId,
      fleetId: run.fleetId,
      runId: run.runId,
      rolloutId: run.rolloutId,
      execution: event.executionArn,
      message,
    });
  }
  const steps = await store.listSteps(run.runId);
  const lastStep = failedStep ? steps.find((s) => s.step === failedStep) : undefined;
  const finished = await store.finishRun(run.runId, run.leaseToken, {
    status: succeeded ? 'succeeded' : 'failed',
    outcome,
    failedStep,
    commandId: lastStep?.commandId ?? null,
    outputUri: lastStep?.outputUri ?? null,
    message: cause ? `${cause}: ${message}`.slice(0, 4000) : message.slice(0, 4000),
  });
  // a rollback started by HostUpgrade works under the parent's lease: the parent releases it
  if (!restoreBranch) await store.releaseLease(run.hostId, run.leaseToken);
  await store.appendAudit({
    actor,
    action: `${run.kind}.finished`,
    hostId: run.hostId,
    runId: run.runId,
    rolloutId: run.rolloutId,
    details: { outcome, failedStep, message: finished.message },
  });
  const backupId = event.backup?.backupId ?? null;
  const version = outcome === 'restored' ? run.fromVersion : succeeded ? run.targetVersion : run.fromVersion;
  const writeWindow = writeWindowOf(steps);
  return {
    runId: run.runId,
    hostId: run.hostId,
    kind: run.kind,
    outcome,
    status: succeeded ? 'succeeded' : 'failed',
    failedStep,
    message: finished.message ?? message,
    version,
    backupId,
    writeWindow,
    cause: operatorSentence({
      run,
      outcome,
      succeeded,
      failedStep,
      message,
      version,
      backupId,
      writeWindow,
      failure: { classification: event.verdict?.classification, message: event.verdict?.message, error: event.error?.Error },
    }),
  };
}
