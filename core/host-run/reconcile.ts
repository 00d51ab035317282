/**
 * An execution that ended without finishing its run: it timed out (the
 * execution's own TimeoutSeconds, which no Catch can handle), was stopped
 * (StopExecution), or failed where no path ran finish-run. Step Functions
 * sends "Step Functions Execution Status Change" to EventBridge for each
 * (https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html);
 * run-events calls this.
 *
 * A run still `running` after its execution ended left the host in a state
 * nobody knows: the host is quarantined (locked, with the reason), the
 * operator is alerted, commands still running for it are cancelled and its
 * step waits closed, the run is finished `rollback-failed` and the lease
 * released (the quarantine keeps every other run off the host); a restore
 * child under its parent's lease leaves the lease and the alert to the
 * parent, whose Restore task fails with the child. A run that
 * finished (the execution's own finish-run ran) is left alone, so an
 * execution that failed after finishing its run pages no one; a host already
 * locked during the run (finish-run quarantined it but was fenced out before
 * it could finish the run) keeps its lock and reason and is not paged twice.
 */
import { z } from 'zod';
import type { CommandRunner } from '../host-steps/ports';
import { RunNotFoundError, StaleLeaseError } from '../registry/errors';
import type { HostRunDeps } from './context';
import { runIdFor } from './context';
import { alertQuarantined, quarantineHost } from './quarantine';

export const ExecutionEnded = z.object({
  executionArn: z.string().min(1),
  stateMachineArn: z.string().min(1),
  status: z.enum(['FAILED', 'TIMED_OUT', 'ABORTED']),
  /** Present on FAILED; the execution's error name. */
  error: z.string().nullable().optional(),
});
export type ExecutionEnded = z.infer<typeof ExecutionEnded>;

export interface ReconcileDeps extends Pick<HostRunDeps, 'store' | 'alerts'> {
  runner: Pick<CommandRunner, 'cancel'>;
  log?: (message: string, fields: Record<string, unknown>) => void;
}

export type ReconcileResult = { action: 'none'; reason: string } | { action: 'quarantined'; runId: string; hostId: string };

const WORDS: Record<ExecutionEnded['status'], string> = {
  TIMED_OUT: 'timed out',
  ABORTED: 'was stopped',
  FAILED: 'failed',
};

export async function reconcileEndedExecution(event: ExecutionEnded, deps: ReconcileDeps): Promise<ReconcileResult> {
  const { store } = deps;
  const runId = runIdFor(event.executionArn);
  let run;
  try {
    run = await store.getRun(runId);
  } catch (err) {
    // refused by begin-run, or ended before it: no run, nothing on the host changed
    if (err instanceof RunNotFoundError) return { action: 'none', reason: 'the execution made no run' };
    throw err;
  }
  if (run.status !== 'running') return { action: 'none', reason: `the run already finished (${run.outcome ?? run.status})` };

  // A restore child works under its parent's lease: the parent's Restore Catch pages and releases.
  const lease = await store.getLease(run.hostId);
  const underParent = lease !== null && !lease.expired && lease.token === run.leaseToken && lease.holder !== event.executionArn;
  const message = `the ${run.kind} execution ${WORDS[event.status]}${event.error ? ` (${event.error})` : ''} before it finished run ${run.id}: the host's state is unknown`;
  // quarantine and alert first, unfenced: whatever else fails, the host stays locked and someone knows.
  // A host locked already (begin-run refuses locked hosts, so it was locked during this run:
  // finish-run's rollback-failed quarantine, which paged, or an operator) keeps its reason and
  // pages no one a second time.
  const alreadyLocked = (await store.getHost(run.hostId)).locked;
  const quarantinedNow = !alreadyLocked && (await quarantineHost(store, run.hostId, message, event.executionArn));

  for (const wait of await store.listRunStepWaits(run.id)) {
    await deps.runner.cancel({ commandId: wait.sent.commandId, instanceId: wait.sent.instanceId }).catch(() => undefined);
    await store.closeStepWait(wait.taskToken, `the execution ${WORDS[event.status]}`);
  }

  if (quarantinedNow && !underParent) {
    await alertQuarantined(deps.alerts, 'RUN_UNFINISHED', {
      hostId: run.hostId,
      runId: run.id,
      rolloutId: run.rolloutId,
      execution: event.executionArn,
      status: event.status,
      message,
    });
  }
  try {
    await store.finishRun(run.id, run.leaseToken, { status: 'failed', outcome: 'rollback-failed', failedStep: null, commandId: null, outputUri: null, message });
    if (!underParent) await store.releaseLease(run.hostId, run.leaseToken);
  } catch (err) {
    // the lease expired or passed on: the quarantine above still holds the host
    if (!(err instanceof StaleLeaseError)) throw err;
    deps.log?.('run not finished: stale lease', { runId: run.id, hostId: run.hostId });
  }
  await store.appendAudit({
    actor: event.executionArn,
    action: `${run.kind}.reconciled`,
    hostId: run.hostId,
    runId: run.id,
    rolloutId: run.rolloutId,
    details: { status: event.status, message },
  });
  return { action: 'quarantined', runId: run.id, hostId: run.hostId };
}
