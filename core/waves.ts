/**
 * Wave planning: which hosts a rollout upgrades in which wave. Pure and
 * deterministic: the same fleet gives the same plan, so a resumed rollout
 * keeps its waves and a host is in exactly one wave.
 */
import { createHash } from 'node:crypto';
import { TIERS, type Tier } from './models';

export interface PlanHost {
  id: string;
  tier: Tier;
  /** Pinned wave index from the fleet file. */
  wave?: number | null;
}

export interface WaveSpec {
  name?: string;
  tier: Tier;
  /** A count, or a percentage of the tier's hosts like "25%". */
  hosts: number | string;
  /** Failures tolerated: a count, or a percentage of the wave like "10%". */
  failureThreshold: number | string;
}

export interface PlannedWave {
  index: number;
  name: string;
  tier: Tier;
  hostIds: string[];
  /** The wave fails once more than this many hosts failed. */
  maxFailures: number;
  /** Which of the specs (the fleet file's `waves`) made this wave. */
  spec: number;
}

export class WavePlanError extends Error {
  override name = 'WavePlanError';
}

/** Staging all at once, then a one-host canary, then half, then the rest of production. */
export const DEFAULT_WAVES: WaveSpec[] = [
  { name: 'staging', tier: 'staging', hosts: '100%', failureThreshold: 0 },
  { name: 'canary', tier: 'production', hosts: 1, failureThreshold: 0 },
  { name: 'production-1', tier: 'production', hosts: '50%', failureThreshold: '10%' },
  { name: 'production-2', tier: 'production', hosts: '100%', failureThreshold: '10%' },
];

const percent = (v: string): number => Number(v.slice(0, -1));

function size(spec: number | string, of: number): number {
  if (typeof spec === 'number') return spec;
  return Math.ceil((percent(spec) * of) / 100);
}

function threshold(spec: number | string, waveSize: number): number {
  if (typeof spec === 'number') return spec;
  return Math.floor((percent(spec) * waveSize) / 100);
}

/** A stable order that is not alphabetical, so the canary is not always host "a". */
function order(fleetId: string, hosts: PlanHost[]): PlanHost[] {
  const keyed = hosts.map((h) => ({ h, k: createHash('sha256').update(`${fleetId}\0${h.id}`).digest('hex') }));
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.h.id < b.h.id ? -1 : 1));
  return keyed.map((x) => x.h);
}

/**
 * Plan the waves: staging waves first, each tier's hosts spread over that
 * tier's waves in order (pinned hosts first), the last wave of a tier taking
 * whatever is left. Empty waves are dropped.
 */
export function planWaves(fleetId: string, hosts: PlanHost[], specs: WaveSpec[] = DEFAULT_WAVES): PlannedWave[] {
  const ids = new Set<string>();
  for (const h of hosts) {
    if (ids.has(h.id)) throw new WavePlanError(`host ${h.id} appears twice`);
    ids.add(h.id);
  }
  const planned: PlannedWave[] = [];
  for (const tier of TIERS) {
    const tierSpecs = specs.map((s, i) => ({ s, i })).filter(({ s }) => s.tier === tier);
    const tierHosts = hosts.filter((h) => h.tier === tier);
    if (tierHosts.length === 0) continue;
    if (tierSpecs.length === 0) throw new WavePlanError(`no wave takes the ${tierHosts.length} ${tier} host(s)`);
    for (const h of tierHosts) {
      if (h.wave !== undefined && h.wave !== null && !tierSpecs.some(({ i }) => i === h.wave)) {
        throw new WavePlanError(`host ${h.id} is pinned to wave ${h.wave}, which is not a ${tier} wave`);
      }
    }
    const pinned = new Map<number, string[]>();
    for (const h of order(fleetId, tierHosts.filter((x) => x.wave !== undefined && x.wave !== null))) {
      pinned.set(h.wave!, [...(pinned.get(h.wave!) ?? []), h.id]);
    }
    const free = order(fleetId, tierHosts.filter((x) => x.wave === undefined || x.wave === null)).map((h) => h.id);
    tierSpecs.forEach(({ s, i }, k) => {
      const own = pinned.get(i) ?? [];
      const last = k === tierSpecs.length - 1;
      const want = last ? Infinity : Math.max(0, size(s.hosts, tierHosts.length) - own.length);
      const taken = free.splice(0, Math.min(want, free.length));
      const hostIds = [...own, ...taken];
      if (hostIds.length === 0) return;
      planned.push({ index: 0, name: s.name ?? `${tier}-${k + 1}`, tier, hostIds, maxFailures: threshold(s.failureThreshold, hostIds.length), spec: i });
    });
  }
  return planned.map((w, index) => ({ ...w, index }));
}

/** Index of the first production wave, or -1. */
export const firstProductionWave = (waves: PlannedWave[]): number => waves.findIndex((w) => w.tier === 'production');
