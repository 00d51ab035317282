/**
 * Planning a rollout's attempt against the fleet as it is now: the waves of
 * its active hosts (retired hosts are never in them), what changed since the
 * rollout's first plan, and the plan task (create the rollout, or resume it
 * with the waves planned again and the consent it was started with).
 */
import { z } from 'zod';
import { FleetWave } from './fleet-file';
import { FailurePolicy } from './models';
import type { RegistryStore } from './registry/store';
import type { Rollout } from './registry/rollouts/rollout-store';
import { upgradeTarget } from './release-catalog';
import { defaultRolloutId, RolloutContext, RolloutRefusedError, type FleetRolloutRequest, type RolloutDeps } from './rollout';
import { auditResumed, markStarted, RolloutConsentError } from './rollout-lifecycle';
import { DEFAULT_WAVES, planWaves, type PlannedWave, type WaveSpec } from './waves';

/** Fleet settings stored by `fleet apply` (fleets.config), with the fleet file's defaults. */
const FleetSettings = z
  .object({
    waves: z.array(FleetWave).optional(),
    bakeMinutes: z.number().int().nonnegative().optional(),
    concurrency: z.number().int().positive().optional(),
    failurePolicy: FailurePolicy.optional(),
    approvalBeforeProduction: z.boolean().optional(),
    unreachableCountsAsFailure: z.boolean().optional(),
  })
  .passthrough();
export type FleetSettings = z.infer<typeof FleetSettings>;

/** The waves a rollout of the fleet would run now, over its active hosts (listHosts leaves retired ones out). */
export async function planFleet(store: Pick<RegistryStore, 'getFleet' | 'listHosts'>, fleetId: string): Promise<{ settings: FleetSettings; hostIds: string[]; waves: PlannedWave[] }> {
  const fleet = await store.getFleet(fleetId);
  const settings = FleetSettings.parse(fleet.config ?? {});
  const hosts = await store.listHosts({ fleetId: fleet.id });
  if (hosts.length === 0) throw new RolloutRefusedError(`fleet ${fleet.id} has no hosts`);
  const specs: WaveSpec[] = settings.waves ?? DEFAULT_WAVES;
  const waves = planWaves(fleet.id, hosts.map((h) => ({ id: h.id, tier: h.tier, wave: h.wave })), specs);
  return { settings, hostIds: hosts.map((h) => h.id).sort(), waves };
}

/** The first plan's host ids, as the first attempt stored them (rollout.plan.hostIds). */
const firstPlanHosts = (rollout: Pick<Rollout, 'plan'>): string[] | null => {
  const ids = (rollout.plan as { hostIds?: unknown }).hostIds;
  return Array.isArray(ids) && ids.every((i) => typeof i === 'string') ? (ids as string[]) : null;
};

export interface PlanChanges {
  /** Hosts in the fleet now that the first plan did not have. */
  added: string[];
  /** Hosts the first plan had that the fleet no longer has (retired, or moved to another fleet). */
  removed: string[];
}

/** What changed in the fleet since the rollout's first plan; null when that plan did not record its hosts. */
export function changesSinceFirstPlan(rollout: Pick<Rollout, 'plan'>, hostIdsNow: readonly string[]): PlanChanges | null {
  const first = firstPlanHosts(rollout);
  if (!first) return null;
  const before = new Set(first);
  const now = new Set(hostIdsNow);
  return { added: [...now].filter((h) => !before.has(h)).sort(), removed: first.filter((h) => !now.has(h)).sort() };
}

/** The sentence a refused change of consent gets. */
export function consentMessage(rollout: Pick<Rollout, 'id' | 'allowDestructive'>): string {
  return rollout.allowDestructive
    ? `rollout ${rollout.id} was started with --allow-destructive; a resume keeps that consent and cannot withdraw it (start it again without the option)`
    : `rollout ${rollout.id} was started without --allow-destructive; a resume keeps that consent and cannot add it (roll back or finish this rollout; consent is given when a rollout is first started)`;
}

/**
 * The plan task: refuse an unknown or withdrawn release and a change of consent, plan the waves
 * against the fleet now, create the rollout (created → running) or start its next attempt.
 */
export async function planRollout(request: FleetRolloutRequest, executionArn: string, deps: RolloutDeps): Promise<RolloutContext> {
  const { store } = deps;
  const fleet = await store.getFleet(request.fleetId);
  // unknown or withdrawn: refused before anything is planned; the catalog's spelling from here on
  const version = (await upgradeTarget(store, request.version).catch((err: Error) => {
    throw new RolloutRefusedError(err.message);
  })).version;
  const { settings, hostIds, waves } = await planFleet(store, fleet.id);
  const rolloutId = request.rolloutId ?? defaultRolloutId(fleet.id, version);
  const existing = await store.findRollout(rolloutId);
  if (existing && request.allowDestructive !== undefined && request.allowDestructive !== existing.allowDestructive) {
    throw new RolloutConsentError(consentMessage(existing));
  }
  const retried = existing?.executionArn === executionArn;
  const { rollout, resumed, previousStatus } = await store.startRollout({
    id: rolloutId,
    fleetId: fleet.id,
    targetVersion: version,
    failurePolicy: settings.failurePolicy ?? 'halt',
    allowDestructive: request.allowDestructive ?? false,
    concurrency: settings.concurrency ?? 5,
    executionArn,
    plan: { waves: waves.map((w) => ({ index: w.index, name: w.name, tier: w.tier, hosts: w.hostIds.length, maxFailures: w.maxFailures })), hostIds },
    waves,
  });
  const actor = request.requestedBy ?? executionArn;
  const details = { fleet: fleet.id, version, attempt: rollout.attempt, waves: waves.length, hosts: hostIds.length, executionArn };
  if (!resumed) await markStarted(store, rolloutId, actor, details);
  else if (!retried) await auditResumed(store, rolloutId, previousStatus, actor, { ...details, sinceFirstPlan: changesSinceFirstPlan(rollout, hostIds) });
  return RolloutContext.parse({
    rolloutId,
    fleetId: fleet.id,
    version,
    attempt: rollout.attempt,
    allowDestructive: rollout.allowDestructive,
    concurrency: rollout.concurrency,
    bakeSeconds: (settings.bakeMinutes ?? 0) * 60,
    approvalBeforeProduction: settings.approvalBeforeProduction ?? false,
    failurePolicy: rollout.failurePolicy,
    unreachableCountsAsFailure: settings.unreachableCountsAsFailure ?? true,
    waveCount: waves.length,
    firstProductionWave: waves.findIndex((w) => w.tier === 'production'),
    resumed,
    requestedBy: actor,
  });
}
