/**
 * The fleet rollout tasks: plan (or resume) a rollout, hand out batches of a
 * wave's hosts, claim a host before its HostUpgrade starts (so a wave stops
 * starting hosts once over its failure budget), record each host's result,
 * judge a wave, wait for approval, finish, and plan a rollback of what a
 * rollout upgraded. Pure over the registry stores and an alert sink.
 */
import { z } from 'zod';
import { FleetWave } from './fleet-file';
import type { AlertSink } from './alerts';
import { parseInput } from './errors';
import { emptyAsNull } from './host-run';
import { FleetId, Reason, RolloutId, Version } from './models';
import { compareVersions } from './release-rules';
import type { PgRolloutStore, RolloutHostResult } from './registry/rollout-store';
import type { RegistryStore } from './registry/store';
import { DEFAULT_WAVES, firstProductionWave, planWaves, type WaveSpec } from './waves';

/** Hosts handed to one RolloutBatch child execution: bounds every history. */
export const BATCH_SIZE = 50;

export class RolloutRefusedError extends Error {
  override name = 'RolloutRefusedError';
}

export interface RolloutDeps {
  store: RegistryStore;
  rollouts: PgRolloutStore;
  alerts: AlertSink;
}

export const FleetRolloutRequest = z
  .object({
    fleetId: FleetId,
    version: Version,
    rolloutId: RolloutId.optional(),
    allowDestructive: z.boolean().optional(),
    requestedBy: Reason.optional(),
    /** Set by Step Functions on child executions. */
    AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: z.string().optional(),
  })
  .strict();

/** What FleetRollout carries: small and independent of the fleet's size. */
export const RolloutContext = z.object({
  rolloutId: RolloutId,
  fleetId: FleetId,
  version: Version,
  attempt: z.number().int().positive(),
  allowDestructive: z.boolean(),
  concurrency: z.number().int().positive(),
  bakeSeconds: z.number().int().nonnegative(),
  approvalBeforeProduction: z.boolean(),
  failurePolicy: z.enum(['halt', 'rollback-wave', 'rollback-all']),
  unreachableCountsAsFailure: z.boolean(),
  waveCount: z.number().int().nonnegative(),
  firstProductionWave: z.number().int(),
  resumed: z.boolean(),
  requestedBy: z.string(),
});
export type RolloutContext = z.infer<typeof RolloutContext>;

/** `acme` + `1.6.0` → `acme-1-6-0`: one rollout per fleet and version, so a repeat start resumes it. */
export function defaultRolloutId(fleetId: string, version: string): string {
  return `${fleetId}-${version.replace(/^v/, '').replace(/[^a-z0-9]+/gi, '-')}`.toLowerCase().slice(0, 63);
}

/** Fleet settings stored by `fleet apply` (fleets.config), with the fleet file's defaults. */
const FleetSettings = z
  .object({
    waves: z.array(FleetWave).optional(),
    bakeMinutes: z.number().int().nonnegative().optional(),
    concurrency: z.number().int().positive().optional(),
    failurePolicy: z.enum(['halt', 'rollback-wave', 'rollback-all']).optional(),
    approvalBeforeProduction: z.boolean().optional(),
    unreachableCountsAsFailure: z.boolean().optional(),
  })
  .passthrough();

export async function planRollout(requestIn: unknown, executionArn: string, deps: RolloutDeps): Promise<RolloutContext> {
  const request = parseInput(FleetRolloutRequest, requestIn, 'FleetRollout input');
  const fleet = await deps.store.getFleet(request.fleetId);
  if (!(await deps.store.getRelease(request.version))) throw new RolloutRefusedError(`version ${request.version} is not in the release catalog`);
  const settings = FleetSettings.parse(fleet.config ?? {});
  const hosts = await deps.store.listHosts({ fleetId: fleet.id });
  if (hosts.length === 0) throw new RolloutRefusedError(`fleet ${fleet.id} has no hosts`);
  const specs: WaveSpec[] = settings.waves ?? DEFAULT_WAVES;
  const waves = planWaves(fleet.id, hosts.map((h) => ({ id: h.id, tier: h.tier, wave: h.wave })), specs);
  const rolloutId = request.rolloutId ?? defaultRolloutId(fleet.id, request.version);
  const { rollout, resumed } = await deps.rollouts.createOrResume({
    id: rolloutId,
    fleetId: fleet.id,
    targetVersion: request.version,
    failurePolicy: settings.failurePolicy ?? 'halt',
    allowDestructive: request.allowDestructive ?? false,
    concurrency: settings.concurrency ?? 5,
    executionArn,
    plan: { waves: waves.map((w) => ({ index: w.index, name: w.name, tier: w.tier, hosts: w.hostIds.length, maxFailures: w.maxFailures })) },
    waves,
  });
  const planned = await deps.rollouts.waves(rolloutId);
  const actor = request.requestedBy ?? executionArn;
  await deps.store.appendAudit({
    actor,
    action: resumed ? 'rollout.resumed' : 'rollout.started',
    rolloutId,
    details: { fleet: fleet.id, version: request.version, attempt: rollout.attempt, waves: planned.length, hosts: hosts.length },
  });
  return RolloutContext.parse({
    rolloutId,
    fleetId: fleet.id,
    version: request.version,
    attempt: rollout.attempt,
    allowDestructive: rollout.allowDestructive,
    concurrency: rollout.concurrency,
    bakeSeconds: (settings.bakeMinutes ?? 0) * 60,
    approvalBeforeProduction: settings.approvalBeforeProduction ?? false,
    failurePolicy: rollout.failurePolicy,
    unreachableCountsAsFailure: settings.unreachableCountsAsFailure ?? true,
    waveCount: planned.length,
    firstProductionWave: planned.findIndex((w) => w.tier === 'production'),
    resumed,
    requestedBy: actor,
  });
}

const isFailure = (r: RolloutHostResult, ctx: RolloutContext) =>
  r === 'failed' || r === 'refused' || r === 'rollback-failed' || (r === 'unreachable' && ctx.unreachableCountsAsFailure);

/** Count this attempt's results in a wave; earlier attempts' failures are retried, not counted. */
async function tally(ctx: RolloutContext, wave: number, deps: RolloutDeps) {
  const w = await deps.rollouts.wave(ctx.rolloutId, wave);
  const results = await deps.rollouts.hosts(ctx.rolloutId, wave);
  const done = new Set<string>();
  let failed = 0;
  let succeeded = 0;
  let unreachable = 0;
  for (const r of results) {
    if (r.result === 'succeeded' || r.result === 'rolled-back') {
      done.add(r.hostId);
      succeeded += 1;
    } else if (r.attempt === ctx.attempt) {
      done.add(r.hostId);
      if (r.result === 'unreachable') unreachable += 1;
      if (isFailure(r.result, ctx)) failed += 1;
    }
  }
  return { wave: w, done, failed, succeeded, unreachable, exceeded: failed > w.maxFailures };
}

export const WaveEvent = z.object({ rollout: RolloutContext, wave: z.number().int().nonnegative() });

export async function nextBatch(eventIn: unknown, deps: RolloutDeps) {
  const { rollout, wave } = parseInput(WaveEvent, eventIn, 'next-batch event');
  const t = await tally(rollout, wave, deps);
  const stopRequested = (await deps.rollouts.get(rollout.rolloutId)).status === 'stop-requested';
  const pending = t.wave.hostIds.filter((h) => !t.done.has(h));
  const items = t.exceeded || stopRequested ? [] : pending.slice(0, BATCH_SIZE).map((hostId) => ({ hostId }));
  return { wave, items, more: items.length > 0, stopRequested, failed: t.failed, maxFailures: t.wave.maxFailures, pending: pending.length };
}

export const HostEvent = WaveEvent.extend({ hostId: z.string() });

/** Right before a host's HostUpgrade: run it only if the wave is still within budget and the host not done. */
export async function claimHost(eventIn: unknown, deps: RolloutDeps) {
  const { rollout, wave, hostId } = parseInput(HostEvent, eventIn, 'claim-host event');
  const t = await tally(rollout, wave, deps);
  if (t.done.has(hostId)) return { action: 'skip', reason: 'already done in this rollout' };
  if ((await deps.rollouts.get(rollout.rolloutId)).status === 'stop-requested') return { action: 'skip', reason: 'the rollout is stopping' };
  if (t.exceeded) return { action: 'skip', reason: `wave ${wave} is over its failure budget (${t.failed} > ${t.wave.maxFailures})` };
  return {
    action: 'run',
    executionName: `${rollout.rolloutId}--${hostId}--a${rollout.attempt}`.slice(0, 80),
  };
}

export const RecordHostEvent = HostEvent.extend({
  /** The child's output (success) or the Catch's error (failure). */
  output: z.unknown().optional(),
  error: z.object({ Error: z.string(), Cause: z.string().optional() }).optional(),
  mode: z.enum(['upgrade', 'rollback']).default('upgrade'),
});

/** Record what happened to a host, from the registry's own record of its run. */
export async function recordHost(eventIn: unknown, deps: RolloutDeps) {
  const e = parseInput(RecordHostEvent, eventIn, 'record-host event');
  const [run] = await deps.store.listRuns({ hostId: e.hostId, rolloutId: e.rollout.rolloutId, limit: 1 });
  let result: RolloutHostResult;
  let outcome: string | null = null;
  let message: string | null = null;
  if (e.mode === 'rollback') {
    result = e.error ? 'rollback-failed' : 'rolled-back';
    message = e.error?.Error ?? 'restored from the backup this rollout took';
  } else if (!e.error) {
    result = 'succeeded';
    outcome = (e.output as { outcome?: string } | undefined)?.outcome ?? 'succeeded';
  } else if (run && run.status !== 'running' && run.startedAt >= 0) {
    outcome = run.outcome;
    message = run.message;
    result = run.outcome === 'unreachable' ? 'unreachable' : run.outcome === 'rollback-failed' ? 'rollback-failed' : 'failed';
  } else {
    result = 'refused';
    outcome = 'refused';
    message = e.error.Error;
  }
  await deps.rollouts.recordHost({
    rolloutId: e.rollout.rolloutId,
    hostId: e.hostId,
    waveIndex: e.wave,
    attempt: e.rollout.attempt,
    result,
    outcome,
    message,
    executionArn: null,
  });
  return { hostId: e.hostId, result };
}

export async function evaluateWave(eventIn: unknown, deps: RolloutDeps) {
  const { rollout, wave } = parseInput(WaveEvent, eventIn, 'evaluate-wave event');
  const t = await tally(rollout, wave, deps);
  const pending = t.wave.hostIds.filter((h) => !t.done.has(h)).length;
  const ok = !t.exceeded && pending === 0;
  await deps.rollouts.updateWave(rollout.rolloutId, wave, { status: ok ? 'succeeded' : 'failed', failed: t.failed, succeeded: t.succeeded });
  await deps.store.appendAudit({
    actor: rollout.requestedBy,
    action: ok ? 'rollout.wave-succeeded' : 'rollout.wave-failed',
    rolloutId: rollout.rolloutId,
    details: { wave, name: t.wave.name, failed: t.failed, succeeded: t.succeeded, unreachable: t.unreachable, maxFailures: t.wave.maxFailures, notStarted: pending },
  });
  return { wave, name: t.wave.name, ok, failed: t.failed, succeeded: t.succeeded, unreachable: t.unreachable, notStarted: pending, maxFailures: t.wave.maxFailures };
}

export async function awaitApproval(eventIn: unknown, deps: RolloutDeps) {
  const e = parseInput(z.object({ rollout: RolloutContext, taskToken: z.string().min(1) }), eventIn, 'await-approval event');
  await deps.rollouts.setApprovalToken(e.rollout.rolloutId, e.taskToken);
  await deps.alerts.publish(`fleetwave: rollout ${e.rollout.rolloutId} waits for approval`, {
    event: 'ROLLOUT_AWAITING_APPROVAL',
    rolloutId: e.rollout.rolloutId,
    fleetId: e.rollout.fleetId,
    version: e.rollout.version,
    action: `staging is done; approve production with: fleetwave rollout approve --rollout ${e.rollout.rolloutId}`,
  });
  return { waiting: true };
}

export const FinishRolloutEvent = z.object({
  rollout: RolloutContext,
  status: z.enum(['succeeded', 'halted', 'rolled-back', 'failed', 'stopped']),
  wave: emptyAsNull(z.record(z.string(), z.unknown())),
  error: emptyAsNull(z.object({ Error: z.string(), Cause: z.string().optional() })),
});

export async function finishRollout(eventIn: unknown, deps: RolloutDeps) {
  const e = parseInput(FinishRolloutEvent, eventIn, 'finish-rollout event');
  const { rollout } = e;
  await deps.rollouts.setStatus(rollout.rolloutId, e.status);
  if (e.status === 'succeeded') await deps.store.setDesiredVersion(rollout.fleetId, rollout.version);
  const hosts = await deps.rollouts.hosts(rollout.rolloutId);
  const counts = hosts.reduce<Record<string, number>>((acc, h) => ({ ...acc, [h.result]: (acc[h.result] ?? 0) + 1 }), {});
  const summary = { rolloutId: rollout.rolloutId, fleetId: rollout.fleetId, version: rollout.version, attempt: rollout.attempt, status: e.status, hosts: counts, wave: e.wave ?? null, error: e.error?.Error ?? null };
  await deps.store.appendAudit({ actor: rollout.requestedBy, action: `rollout.${e.status}`, rolloutId: rollout.rolloutId, details: summary });
  await deps.alerts.publish(`fleetwave: rollout ${rollout.rolloutId} ${e.status}`, { event: `ROLLOUT_${e.status.toUpperCase().replace('-', '_')}`, ...summary });
  return summary;
}

// ── RolloutRollback ─────────────────────────────────────────────────────────
export const RolloutRollbackRequest = z
  .object({
    rolloutId: RolloutId,
    wave: z.number().int().nonnegative().optional(),
    reason: Reason.optional(),
    requestedBy: Reason.optional(),
    /** Set by Step Functions when FleetRollout's failure policy starts the rollback. */
    AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: z.string().optional(),
  })
  .strict();

/** The hosts a rollout upgraded (not noop, not restored), with the backup each run took. */
async function upgradedHosts(rolloutId: string, wave: number | undefined, deps: RolloutDeps) {
  const results = await deps.rollouts.hosts(rolloutId, wave);
  const out: { hostId: string; backupId: string; wave: number; done: boolean }[] = [];
  for (const r of results) {
    if (r.result !== 'succeeded' && r.result !== 'rolled-back' && r.result !== 'rollback-failed') continue;
    const runs = await deps.store.listRuns({ hostId: r.hostId, rolloutId });
    const upgraded = runs.find((run) => run.kind === 'upgrade' && run.outcome === 'succeeded');
    if (!upgraded) continue; // already on the version (noop): nothing to undo
    out.push({ hostId: r.hostId, backupId: upgraded.id, wave: r.waveIndex, done: r.result !== 'succeeded' });
  }
  return out;
}

export async function planRolloutRollback(requestIn: unknown, executionArn: string, deps: RolloutDeps) {
  const request = parseInput(RolloutRollbackRequest, requestIn, 'RolloutRollback input');
  const rollout = await deps.rollouts.get(request.rolloutId);
  const hosts = await upgradedHosts(rollout.id, request.wave, deps);
  await deps.store.appendAudit({
    actor: request.requestedBy ?? executionArn,
    action: 'rollout.rollback-started',
    rolloutId: rollout.id,
    details: { wave: request.wave ?? null, hosts: hosts.length, reason: request.reason ?? null },
  });
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

export async function nextRollbackBatch(eventIn: unknown, deps: RolloutDeps) {
  const e = parseInput(
    z.object({ rollout: RolloutContext, request: z.object({ wave: z.number().int().nonnegative().optional() }).passthrough() }),
    eventIn,
    'next-rollback-batch event',
  );
  const hosts = (await upgradedHosts(e.rollout.rolloutId, e.request.wave, deps)).filter((h) => !h.done);
  const items = hosts.slice(0, BATCH_SIZE).map((h) => ({ hostId: h.hostId, backupId: h.backupId, wave: h.wave }));
  return { items, more: items.length > 0 };
}

export { compareVersions, firstProductionWave };
