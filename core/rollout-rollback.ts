/**
 * RolloutRollback's tasks: plan the rollback of what a rollout upgraded (not
 * noop, not restored) and hand out batches of those hosts with the backup each
 * run took. A host a later run changed is left out (recorded refused) unless
 * the request forces it (core/host-run/newer-changes.ts).
 */
import { z } from 'zod';
import { changesDiscardedBy, describeDiscarded, type DiscardedRun } from './host-run';
import { Reason, RolloutId } from './models';
import { BATCH_SIZE, childExecutionName, NEWER_CHANGES, RolloutContext, WaveIndex, type RolloutDeps } from './rollout';
import { markRollingBack } from './rollout-lifecycle';

export const RolloutRollbackRequest = z
  .object({
    rolloutId: RolloutId,
    wave: WaveIndex.optional(),
    reason: Reason.optional(),
    requestedBy: Reason.optional(),
    /** Restore hosts that a later run changed too (their later changes are discarded); without it they are refused. */
    force: z.boolean().optional(),
    /** Set by Step Functions when FleetRollout's failure policy starts the rollback. */
    AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: z.string().optional(),
  })
  .strict();
export type RolloutRollbackRequest = z.infer<typeof RolloutRollbackRequest>;

/**
 * The hosts a rollout upgraded (not noop, not restored), with the backup each run took and the
 * later runs that changed the host since (core/host-run/newer-changes.ts), which a restore of
 * that backup would discard. A host refused by an earlier rollback is listed again, so a forced
 * one finds it.
 */
async function upgradedHosts(rolloutId: string, wave: number | undefined, deps: RolloutDeps) {
  const results = await deps.store.listRolloutHosts(rolloutId, wave === undefined ? {} : { wave });
  const out: { hostId: string; backupId: string; wave: number; done: boolean; refusedBefore: boolean; discards: DiscardedRun[] }[] = [];
  for (const r of results) {
    if (r.result !== 'succeeded' && r.result !== 'refused' && r.result !== 'rolled-back' && r.result !== 'rollback-failed') continue;
    const runs = await deps.store.listRuns({ hostId: r.hostId, limit: 1000 });
    const upgraded = runs.find((run) => run.rolloutId === rolloutId && run.kind === 'upgrade' && run.outcome === 'succeeded');
    if (!upgraded) continue; // already on the version (noop), or refused before a run: nothing to undo
    // the backup belongs to the run (its id is the run's) and was taken after the run started
    const discards = changesDiscardedBy({ runId: upgraded.id, takenAt: upgraded.startedAt, version: upgraded.fromVersion ?? '' }, runs);
    out.push({
      hostId: r.hostId,
      backupId: upgraded.id,
      wave: r.wave,
      done: r.result === 'rolled-back' || r.result === 'rollback-failed',
      refusedBefore: r.result === 'refused',
      discards,
    });
  }
  return out;
}

export async function planRolloutRollback(request: RolloutRollbackRequest, executionArn: string, deps: RolloutDeps): Promise<RolloutContext> {
  const rollout = await deps.store.getRollout(request.rolloutId);
  const hosts = await upgradedHosts(rollout.id, request.wave, deps);
  const changedSince = hosts.filter((h) => !h.done && h.discards.length > 0).map((h) => h.hostId);
  const details = {
    wave: request.wave ?? null,
    hosts: hosts.length,
    reason: request.reason ?? null,
    executionArn,
    ...(changedSince.length > 0 ? { changedSince, force: request.force ?? false } : {}),
  };
  const actor = request.requestedBy ?? executionArn;
  if (rollout.executionArn !== executionArn) {
    // not a retried plan task of this execution
    await deps.store.appendAudit({ actor, action: 'rollout.rollback-started', rolloutId: rollout.id, details });
  }
  await markRollingBack(deps.store, rollout.id, actor, executionArn, details);
  return RolloutContext.parse({
    rolloutId: rollout.id,
    fleetId: rollout.fleetId,
    version: rollout.targetVersion,
    attempt: Math.max(1, rollout.attempt),
    allowDestructive: rollout.allowDestructive,
    concurrency: rollout.concurrency,
    bakeSeconds: 0,
    approvalBeforeProduction: false,
    failurePolicy: rollout.failurePolicy,
    unreachableCountsAsFailure: true,
    waveCount: 0,
    firstProductionWave: -1,
    resumed: false,
    requestedBy: request.requestedBy ?? executionArn,
  });
}

export const NextRollbackBatchEvent = z.object({
  rollout: RolloutContext,
  /** RolloutRollback's own input: only `wave` and `force` matter here. */
  request: z.object({ wave: WaveIndex.optional(), force: z.boolean().optional() }).passthrough(),
});
export type NextRollbackBatchEvent = z.infer<typeof NextRollbackBatchEvent>;


/**
 * The next hosts to restore. A host that a later run changed is left out unless the request
 * is forced: it is recorded as refused, with the sentence naming what a restore would discard,
 * so the rollout's summary shows it and the rollback ends once only such hosts are left.
 */
export async function nextRollbackBatch(e: NextRollbackBatchEvent, deps: RolloutDeps) {
  const force = e.request.force ?? false;
  const pending = (await upgradedHosts(e.rollout.rolloutId, e.request.wave, deps)).filter((h) => !h.done);
  const refused = force ? [] : pending.filter((h) => h.discards.length > 0);
  for (const h of refused) {
    if (h.refusedBefore) continue; // a later batch of the same rollback: recorded already
    const message = describeDiscarded(h.hostId, `the backup rollout ${e.rollout.rolloutId} took`, h.discards);
    await deps.store.recordRolloutHost({
      rolloutId: e.rollout.rolloutId,
      hostId: h.hostId,
      wave: h.wave,
      attempt: e.rollout.attempt,
      result: 'refused',
      outcome: NEWER_CHANGES,
      message,
      executionArn: null,
    });
    await deps.store.appendAudit({
      actor: e.rollout.requestedBy,
      action: 'rollback.refused',
      hostId: h.hostId,
      rolloutId: e.rollout.rolloutId,
      details: { backupId: h.backupId, reason: message, discards: h.discards },
    });
  }
  const items = pending
    .filter((h) => force || h.discards.length === 0)
    .slice(0, BATCH_SIZE)
    .map((h) => ({
      hostId: h.hostId,
      backupId: h.backupId,
      wave: h.wave,
      // always present: RolloutBatch passes it to HostRollback, which audits what a forced restore discards
      force,
      executionName: childExecutionName(e.rollout.rolloutId, h.hostId, 'rollback'),
    }));
  // the state carries names only, capped like a batch: the registry holds each host's sentence
  return { items, more: items.length > 0, refused: refused.slice(0, BATCH_SIZE).map((h) => h.hostId), refusedTotal: refused.length };
}

