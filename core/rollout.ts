/**
 * The fleet rollout tasks: plan (or resume) a rollout, hand out batches of a
 * wave's hosts, claim a host before its HostUpgrade starts (so a wave stops
 * starting hosts once over its failure budget), record each host's result,
 * judge a wave, wait for approval, finish. Plain functions of typed input over
 * the registry ports and an alert sink. The rollback of what a rollout
 * upgraded: rollout-rollback.ts; planning: rollout-plan.ts; statuses and
 * their transitions: rollout-lifecycle.ts; the Lambda's event: rollout-event.ts.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { AlertSink } from './alerts';
import { emptyAsNull } from './host-run';
import { FailurePolicy, FleetId, HostId, Reason, RolloutEnd, RolloutId, RunKind, Version, type RolloutHostResult } from './models';
import { TaskToken, type RegistryStore, type RolloutStore } from './registry/store';
import { markEnded } from './rollout-lifecycle';

/** Hosts handed to one RolloutBatch child execution: bounds every history. */
export const BATCH_SIZE = 50;

/** A rollout host's outcome when its rollback was refused over later changes (not a refused upgrade). */
export const NEWER_CHANGES = 'newer-changes';

export class RolloutRefusedError extends Error {
  override name = 'RolloutRefusedError';
}

/** What the rollout tasks read and write: the rollouts, and a few reads and writes of other aggregates. */
export type RolloutRegistry = RolloutStore &
  Pick<RegistryStore, 'getFleet' | 'listHosts' | 'getHost' | 'setDesiredVersion' | 'getRelease' | 'listRuns' | 'appendAudit'>;

export interface RolloutDeps {
  store: RolloutRegistry;
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
export type FleetRolloutRequest = z.infer<typeof FleetRolloutRequest>;

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
  failurePolicy: FailurePolicy,
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

const isFailure = (r: RolloutHostResult, ctx: RolloutContext) =>
  r === 'failed' || r === 'refused' || r === 'rollback-failed' || (r === 'unreachable' && ctx.unreachableCountsAsFailure);

/**
 * Count a wave's results for this attempt, over the hosts the wave has now (a resume plans the
 * waves again, so a host's recorded wave may be another). A host that succeeded in any attempt
 * is done; a rolled-back host is not (starting the rollout again upgrades it again), and an
 * earlier attempt's failure is not counted, so a resumed rollout retries that host with the
 * full budget.
 */
async function tally(ctx: RolloutContext, wave: number, deps: RolloutDeps) {
  const w = await deps.store.getRolloutWave(ctx.rolloutId, wave);
  const inWave = new Set(w.hostIds);
  const results = (await deps.store.listRolloutHosts(ctx.rolloutId)).filter((r) => inWave.has(r.hostId));
  const done = new Set<string>();
  let failed = 0;
  let succeeded = 0;
  let unreachable = 0;
  for (const r of results) {
    if (r.result === 'succeeded') {
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

const stopRequested = async (rolloutId: string, deps: RolloutDeps) =>
  (await deps.store.getRollout(rolloutId)).status === 'stop-requested';

export const WaveIndex = z.number().int().nonnegative();
const TaskError = z.object({ Error: z.string(), Cause: z.string().optional() });

export const WaveEvent = z.object({ rollout: RolloutContext, wave: WaveIndex });
export type WaveEvent = z.infer<typeof WaveEvent>;

/** The next hosts of a wave to start; none once the wave is over budget or the rollout is stopping. */
export async function nextBatch({ rollout, wave }: WaveEvent, deps: RolloutDeps) {
  const t = await tally(rollout, wave, deps);
  const stopping = await stopRequested(rollout.rolloutId, deps);
  const pending = t.wave.hostIds.filter((h) => !t.done.has(h));
  const items = t.exceeded || stopping ? [] : pending.slice(0, BATCH_SIZE).map((hostId) => ({ hostId }));
  return { wave, items, more: items.length > 0, stopRequested: stopping, failed: t.failed, maxFailures: t.wave.maxFailures, pending: pending.length };
}

export const HostEvent = WaveEvent.extend({ hostId: HostId });
export type HostEvent = z.infer<typeof HostEvent>;

export type ClaimResult = { action: 'run'; executionName: string } | { action: 'skip'; reason: string };

/**
 * A child execution's name: `parts` joined by `--` when that fits Step Functions' 80 characters
 * of A-Za-z0-9-_ (StartExecution `name`); otherwise the head of it, then a hash of the whole, so
 * names stay unique (an attempt is never cut off) and deterministic (a retried start finds its
 * execution).
 */
export function childExecutionName(...parts: (string | number)[]): string {
  const full = parts.join('--');
  if (full.length <= 80) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 16);
  return `${full.slice(0, 80 - hash.length - 1)}-${hash}`;
}

/** Right before a host's HostUpgrade: run it only if the wave is still within budget and the host not done. */
export async function claimHost({ rollout, wave, hostId }: HostEvent, deps: RolloutDeps): Promise<ClaimResult> {
  const t = await tally(rollout, wave, deps);
  if (t.done.has(hostId)) return { action: 'skip', reason: 'already done in this rollout' };
  if (await stopRequested(rollout.rolloutId, deps)) return { action: 'skip', reason: 'the rollout is stopping' };
  if (t.exceeded) return { action: 'skip', reason: `wave ${wave} is over its failure budget (${t.failed} > ${t.wave.maxFailures})` };
  // retired by `fleet apply` since the wave was planned: never touched, not a failure
  if ((await deps.store.getHost(hostId)).retiredAt !== null) return { action: 'skip', reason: `host ${hostId} was retired from the fleet` };
  return {
    action: 'run',
    executionName: childExecutionName(rollout.rolloutId, hostId, `a${rollout.attempt}`),
  };
}

export const RecordHostEvent = HostEvent.extend({
  /** The child's output (success) or the Catch's error (failure). */
  output: z.unknown().optional(),
  error: TaskError.optional(),
  mode: RunKind.default('upgrade'),
});
export type RecordHostEvent = z.input<typeof RecordHostEvent>;

/** What a failed HostRollback child said: its error and, from the child's cause, its own error message. */
function rollbackFailure(error: { Error: string; Cause?: string }): string {
  let cause = error.Cause ?? '';
  try {
    // startExecution.sync: the Cause is the child's DescribeExecution output, with its own error and cause
    const child = JSON.parse(cause) as { Error?: string; Cause?: string; error?: string; cause?: string };
    cause = [child.Error ?? child.error, child.Cause ?? child.cause].filter(Boolean).join(': ') || cause;
  } catch {
    /* a plain-text cause */
  }
  return cause ? `${error.Error}: ${cause}` : error.Error;
}

/** Record what happened to a host, from the registry's own record of its run. */
export async function recordHost(e: RecordHostEvent, deps: RolloutDeps): Promise<{ hostId: string; result: RolloutHostResult }> {
  const [run] = await deps.store.listRuns({ hostId: e.hostId, rolloutId: e.rollout.rolloutId, limit: 1 });
  let result: RolloutHostResult;
  let outcome: string | null = null;
  let message: string | null = null;
  if (e.mode === 'rollback') {
    result = e.error ? 'rollback-failed' : 'rolled-back';
    outcome = e.error ? 'rollback-failed' : 'restored';
    message = e.error ? rollbackFailure(e.error) : 'restored from the backup this rollout took';
  } else if (!e.error) {
    result = 'succeeded';
    outcome = (e.output as { outcome?: string } | undefined)?.outcome ?? 'succeeded';
  } else if (run && run.status !== 'running') {
    outcome = run.outcome;
    message = run.message;
    result = run.outcome === 'unreachable' ? 'unreachable' : run.outcome === 'rollback-failed' ? 'rollback-failed' : 'failed';
  } else {
    // No finished run: the host was refused before one began (locked, quarantined, bad input) or its claim failed.
    result = 'refused';
    outcome = 'refused';
    message = e.error.Error;
  }
  await deps.store.recordRolloutHost({
    rolloutId: e.rollout.rolloutId,
    hostId: e.hostId,
    wave: e.wave,
    attempt: e.rollout.attempt,
    result,
    outcome,
    message,
    executionArn: null,
  });
  return { hostId: e.hostId, result };
}

/** Judge a wave once its batches are done: ok when within budget and every host done. */
export async function evaluateWave({ rollout, wave }: WaveEvent, deps: RolloutDeps) {
  const t = await tally(rollout, wave, deps);
  const pending = t.wave.hostIds.filter((h) => !t.done.has(h)).length;
  const ok = !t.exceeded && pending === 0;
  await deps.store.updateRolloutWave(rollout.rolloutId, wave, { status: ok ? 'succeeded' : 'failed', failed: t.failed, succeeded: t.succeeded });
  await deps.store.appendAudit({
    actor: rollout.requestedBy,
    action: ok ? 'rollout.wave-succeeded' : 'rollout.wave-failed',
    rolloutId: rollout.rolloutId,
    details: { wave, name: t.wave.name, failed: t.failed, succeeded: t.succeeded, unreachable: t.unreachable, maxFailures: t.wave.maxFailures, notStarted: pending },
  });
  return { wave, name: t.wave.name, ok, failed: t.failed, succeeded: t.succeeded, unreachable: t.unreachable, notStarted: pending, maxFailures: t.wave.maxFailures };
}

export const AwaitApprovalEvent = z.object({ rollout: RolloutContext, taskToken: TaskToken });
export type AwaitApprovalEvent = z.infer<typeof AwaitApprovalEvent>;

export async function awaitApproval(e: AwaitApprovalEvent, deps: RolloutDeps) {
  await deps.store.requestApproval(e.rollout.rolloutId, e.taskToken);
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
  status: RolloutEnd,
  wave: emptyAsNull(z.record(z.string(), z.unknown())),
  error: emptyAsNull(TaskError),
});
export type FinishRolloutEvent = z.infer<typeof FinishRolloutEvent>;

/** The hosts whose restore failed (quarantined): in a rollback, in an upgrade's own restore, in any attempt. */
const rollbackFailedHosts = (hosts: { hostId: string; result: RolloutHostResult }[]) => hosts.filter((h) => h.result === 'rollback-failed').map((h) => h.hostId);

/**
 * Record how the rollout ended and notify. The end is the truth of its hosts: a rollback
 * (RolloutRollback's finish, `rolled-back`) in which any host's restore failed ends `failed`,
 * naming those hosts (`rollbackFailed`, and the `cause` RolloutRollback fails with).
 */
export async function finishRollout(e: FinishRolloutEvent, deps: RolloutDeps) {
  const { rollout } = e;
  const hosts = await deps.store.listRolloutHosts(rollout.rolloutId);
  const rollbackFailed = rollbackFailedHosts(hosts);
  const status: RolloutEnd = e.status === 'rolled-back' && rollbackFailed.length > 0 ? 'failed' : e.status;
  const counts = hosts.reduce<Record<string, number>>((acc, h) => ({ ...acc, [h.result]: (acc[h.result] ?? 0) + 1 }), {});
  const named = rollbackFailed.slice(0, BATCH_SIZE);
  const summary = {
    rolloutId: rollout.rolloutId,
    fleetId: rollout.fleetId,
    version: rollout.version,
    attempt: rollout.attempt,
    status,
    hosts: counts,
    wave: e.wave ?? null,
    error: e.error?.Error ?? null,
    // a rollback names the hosts it refused to restore over later changes (next-rollback-batch)
    ...(e.status === 'rolled-back' && counts.refused
      ? { refused: hosts.filter((h) => h.result === 'refused' && h.outcome === NEWER_CHANGES).slice(0, BATCH_SIZE).map((h) => h.hostId) }
      : {}),
    ...(rollbackFailed.length > 0
      ? {
          rollbackFailed: named,
          cause: `the restore failed on ${rollbackFailed.length} host${rollbackFailed.length === 1 ? '' : 's'} (quarantined): ${named.join(', ')}${rollbackFailed.length > named.length ? ', …' : ''}`,
        }
      : {}),
  };
  await markEnded(deps.store, rollout.rolloutId, status, rollout.requestedBy, summary);
  if (status === 'succeeded') await deps.store.setDesiredVersion(rollout.fleetId, rollout.version);
  await deps.alerts.publish(`fleetwave: rollout ${rollout.rolloutId} ${status}`, { event: `ROLLOUT_${status.toUpperCase().replace('-', '_')}`, ...summary });
  return summary;
}
