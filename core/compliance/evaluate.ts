/**
 * Parity rules: pure functions from what was read on a host (and the fleet's
 * desired version) to COMPLIANT / NON_COMPLIANT (with reasons) / UNKNOWN.
 *
 * Rules, per host:
 * - unreachable or no usable inventory → UNKNOWN (never compliant);
 * - a service not running → `service-not-running`;
 * - running services on more than one version → `mixed-versions`;
 * - a pinned tag missing, `latest` or not a release tag → `unpinned-or-latest`;
 * - a running service whose tag differs from its (valid) pinned tag, or whose
 *   image is not the digest the configuration pins (`tag@sha256:…`) →
 *   `pinned-differs-from-running` (someone edited the compose file without
 *   restarting, or a restart failed half-way);
 * - the fleet has a desired version and a running service is on another one
 *   → `not-desired-version`;
 * - a running service is on a release the vendor withdrew → `withdrawn-release`.
 * Versions compare without a leading `v` (`v1.5.0` is `1.5.0`).
 */
import { canonicalVersion as normalizeVersion, VERSION_PATTERN } from '../models';
import {
  DRIFT_REASONS,
  SERVICE_NAMES,
  type DriftEvent,
  type DriftReason,
  type FleetCounts,
  type HostCompliance,
  type HostObservation,
} from './model';

const isReleaseTag = (tag: string | null): tag is string => tag !== null && tag.toLowerCase() !== 'latest' && VERSION_PATTERN.test(tag);

export interface HostContext {
  fleetId: string;
  desiredVersion: string | null;
  /** Withdrawn releases and why (default none). */
  withdrawn?: readonly { version: string; reason: string }[];
}

export function evaluateHost(obs: HostObservation, ctx: HostContext): HostCompliance {
  const base = {
    hostId: obs.hostId,
    fleetId: ctx.fleetId,
    instanceId: obs.instanceId,
    desiredVersion: ctx.desiredVersion,
  };
  if (!obs.reached) {
    return {
      ...base,
      state: 'UNKNOWN',
      reasons: [],
      unknownCause: obs.cause,
      details: [`not inventoried (${obs.cause}): ${obs.message}`],
      runningVersion: null,
      running: {},
      pinned: {},
    };
  }

  const inv = obs.inventory;
  const running: Record<string, string | null> = {};
  const pinned: Record<string, string | null> = {};
  const reasons = new Set<DriftReason>();
  const details: string[] = [];

  const stopped: string[] = [];
  const unpinned: string[] = [];
  const differs: string[] = [];
  for (const svc of SERVICE_NAMES) {
    const s = inv.services[svc];
    const pin = inv.pinned[svc] ?? null;
    pinned[svc] = pin;
    running[svc] = s?.running ? (s.tag ?? null) : null;
    if (!s?.running) stopped.push(svc);
    if (!isReleaseTag(pin)) unpinned.push(`${svc} (${pin ?? 'no tag'})`);
    const run = running[svc];
    const pinnedDigest = inv.pinnedDigests?.[svc] ?? null;
    if (run !== null && isReleaseTag(pin) && normalizeVersion(run) !== normalizeVersion(pin)) differs.push(`${svc} pinned ${pin}, running ${run}`);
    else if (run !== null && pinnedDigest !== null && s?.digest && s.digest !== pinnedDigest) differs.push(`${svc} pinned ${pin}@${pinnedDigest}, running ${run}@${s.digest}`);
  }
  const runningTags = Object.values(running).filter((t): t is string => t !== null);
  const distinct = [...new Set(runningTags.map(normalizeVersion))].sort();

  if (stopped.length > 0) {
    reasons.add('service-not-running');
    details.push(`not running: ${stopped.join(', ')}`);
  }
  if (distinct.length > 1) {
    reasons.add('mixed-versions');
    details.push(`services run different versions: ${SERVICE_NAMES.filter((s) => running[s]).map((s) => `${s} ${running[s]}`).join(', ')}`);
  }
  if (unpinned.length > 0) {
    reasons.add('unpinned-or-latest');
    details.push(`not pinned to a release tag: ${unpinned.join(', ')}`);
  }
  if (differs.length > 0) {
    reasons.add('pinned-differs-from-running');
    details.push(`compose file differs from what runs: ${differs.join('; ')}`);
  }
  if (ctx.desiredVersion !== null) {
    const want = normalizeVersion(ctx.desiredVersion);
    const off = SERVICE_NAMES.filter((s) => running[s] !== null && normalizeVersion(running[s]!) !== want);
    if (off.length > 0) {
      reasons.add('not-desired-version');
      details.push(`fleet wants ${ctx.desiredVersion}: ${off.map((s) => `${s} runs ${running[s]}`).join(', ')}`);
    }
  }

  const withdrawn = new Map((ctx.withdrawn ?? []).map((w) => [normalizeVersion(w.version), w.reason]));
  for (const tag of new Set(runningTags)) {
    const why = withdrawn.get(normalizeVersion(tag));
    if (why === undefined) continue;
    reasons.add('withdrawn-release');
    details.push(`runs ${tag}, a withdrawn release: ${why}`);
  }

  const sorted = DRIFT_REASONS.filter((r) => reasons.has(r));
  return {
    ...base,
    state: sorted.length === 0 ? 'COMPLIANT' : 'NON_COMPLIANT',
    reasons: sorted,
    unknownCause: null,
    details,
    runningVersion: distinct.length === 1 && stopped.length === 0 ? runningTags[0]! : null,
    running,
    pinned,
  };
}

export function countFleet(fleetId: string, desiredVersion: string | null, hosts: HostCompliance[], quarantined = 0): FleetCounts {
  const mine = hosts.filter((h) => h.fleetId === fleetId);
  const unknown = mine.filter((h) => h.state === 'UNKNOWN').length;
  const compliant = mine.filter((h) => h.state === 'COMPLIANT').length;
  return { fleetId, desiredVersion, hosts: mine.length, compliant, nonCompliant: mine.length - compliant, unknown, quarantined };
}

/**
 * Alert on a change of drift, compared with the fleet's previous check:
 * drift (any host not COMPLIANT) that was not there before, or that is gone.
 * The first check of a fleet alerts only when it finds drift.
 */
export function driftEvent(previous: Pick<FleetCounts, 'nonCompliant'> | null, current: Pick<FleetCounts, 'nonCompliant'>): DriftEvent | null {
  const before = previous !== null && previous.nonCompliant > 0;
  const now = current.nonCompliant > 0;
  if (now && !before) return 'drift-appeared';
  if (!now && before) return 'drift-cleared';
  return null;
}

/** SSM Compliance severity of one host's item: the worst reason decides. */
export function severityOf(h: HostCompliance): 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW' | 'INFORMATIONAL' {
  if (h.state === 'COMPLIANT') return 'INFORMATIONAL';
  if (h.state === 'UNKNOWN') return 'HIGH';
  if (h.reasons.includes('service-not-running')) return 'CRITICAL';
  if (h.reasons.includes('mixed-versions') || h.reasons.includes('unpinned-or-latest') || h.reasons.includes('withdrawn-release')) return 'HIGH';
  return 'MEDIUM';
}
