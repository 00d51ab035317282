/**
 * The ComplianceCheck's last tasks (the first ones are in check.ts):
 *   finishCheck   evaluate, keep in the registry, JSON report, SSM Compliance
 *                 items, CloudWatch metric, drift alerts.
 *   failCheck     the failure path: the check is marked failed.
 * Both are safe to run twice: finish returns the completed check, and a drift
 * alert is published until it is marked as published (at least once).
 */
import { z } from 'zod';
import type { AlertSink } from '../alerts';
import { redactSecrets } from '../redact';
import type { ComplianceCheck } from '../registry/store';
import { checkIdFor, clip, keys, mapLimit } from './check';
import { countFleet, driftEvent, evaluateHost } from './evaluate';
import { CompliancePlanMissingError } from './errors';
import { BatchObservations, CheckPlan, type ComplianceReport, type DriftEvent, type FleetReport, type HostCompliance, type HostObservation } from './model';
import type { ComplianceItems, ComplianceMetrics, ComplianceStore, JsonObjects } from './ports';

// ---------------------------------------------------------------- finish

export const FinishInput = z.object({ checkId: z.string().uuid() });

export interface FinishDeps {
  store: ComplianceStore;
  objects: JsonObjects;
  items: ComplianceItems;
  metrics: ComplianceMetrics;
  alerts: AlertSink;
  now?: () => number;
  concurrency?: number;
}

export interface FinishOutput {
  checkId: string;
  status: 'completed';
  hosts: number;
  compliant: number;
  nonCompliant: number;
  unknown: number;
  reportKey: string;
  drift: { fleetId: string; event: DriftEvent }[];
}

export const ALERT_SUBJECT: Record<DriftEvent, (fleetId: string) => string> = {
  'drift-appeared': (f) => `fleetwave: version drift in fleet ${f}`,
  'drift-cleared': (f) => `fleetwave: version drift cleared in fleet ${f}`,
};

export async function finishCheck(input: z.output<typeof FinishInput>, deps: FinishDeps): Promise<FinishOutput> {
  const { checkId } = input;
  const now = deps.now ?? Date.now;
  const plan = await deps.objects.get(keys.plan(checkId), CheckPlan);
  if (!plan) throw new CompliancePlanMissingError(checkId);
  const desired = new Map(plan.fleets.map((f) => [f.fleetId, f.desiredVersion]));

  // A batch whose map iteration failed left no observations: its hosts are UNKNOWN.
  const results: HostCompliance[] = [];
  for (const batch of plan.batches) {
    const got = await deps.objects.get(keys.observations(checkId, batch.index), BatchObservations);
    const byInstance = new Map((got?.observations ?? []).map((o) => [o.instanceId, o]));
    for (const h of batch.hosts) {
      const obs: HostObservation = byInstance.get(h.instanceId) ?? {
        hostId: h.hostId,
        instanceId: h.instanceId,
        reached: false,
        cause: 'no-inventory',
        message: 'the batch of this host was not inventoried (its task failed)',
      };
      results.push(evaluateHost(obs, { fleetId: h.fleetId, desiredVersion: desired.get(h.fleetId) ?? null, withdrawn: plan.withdrawn }));
    }
  }
  results.sort((a, b) => a.fleetId.localeCompare(b.fleetId) || a.hostId.localeCompare(b.hostId));
  const fleetIds = [...new Set(results.map((r) => r.fleetId))];
  const quarantined = new Map(plan.fleets.map((f) => [f.fleetId, f.quarantined]));
  const counts = fleetIds.map((f) => countFleet(f, desired.get(f) ?? null, results, quarantined.get(f) ?? 0));

  let check: ComplianceCheck | null = await deps.store.getComplianceCheck(checkId);
  if (!check) throw new CompliancePlanMissingError(checkId);
  if (check.status !== 'completed') {
    const drift: Record<string, DriftEvent> = {};
    for (const c of counts) {
      const prev = await deps.store.latestComplianceCheck({ fleetId: c.fleetId, before: checkId });
      const prevCounts = prev ? ((await deps.store.complianceCounts(prev.id)).find((x) => x.fleetId === c.fleetId) ?? null) : null;
      const event = driftEvent(prevCounts, c);
      if (event) drift[c.fleetId] = event;
    }
    const finishedAt = now();
    const report: ComplianceReport = {
      checkId,
      fleetId: plan.fleetId,
      startedAt: new Date(plan.startedAt).toISOString(),
      finishedAt: new Date(finishedAt).toISOString(),
      totals: {
        hosts: results.length,
        compliant: results.filter((r) => r.state === 'COMPLIANT').length,
        nonCompliant: results.filter((r) => r.state !== 'COMPLIANT').length,
        unknown: results.filter((r) => r.state === 'UNKNOWN').length,
      },
      fleets: counts.map(
        (c): FleetReport => ({
          fleetId: c.fleetId,
          desiredVersion: c.desiredVersion,
          counts: c,
          drift: drift[c.fleetId] ?? null,
          hosts: results.filter((r) => r.fleetId === c.fleetId),
        }),
      ),
    };
    await deps.objects.put(keys.report(checkId), report);
    check = (await deps.store.completeComplianceCheck(checkId, { results, reportKey: keys.report(checkId), drift })).check;

    // The registry's observed version follows what the hosts really run.
    const known = new Map((await deps.store.listHosts(plan.fleetId ? { fleetId: plan.fleetId } : {})).map((h) => [h.id, h.observedVersion]));
    for (const r of results) {
      if (r.state === 'UNKNOWN' || !known.has(r.hostId)) continue;
      if (known.get(r.hostId) !== r.runningVersion) await deps.store.recordObservedVersion(r.hostId, r.runningVersion);
    }
  }

  // Outputs that AWS keeps as "latest" are written on every (re)run: they are idempotent.
  const at = check.finishedAt ?? now();
  await mapLimit(results, deps.concurrency ?? 5, (r) => deps.items.put(r, { checkId, at }));
  await deps.metrics.publish(counts, at);

  const drift: FinishOutput['drift'] = [];
  for (const [fleetId, d] of Object.entries(check.drift)) {
    drift.push({ fleetId, event: d.event });
    if (d.notifiedAt !== null) continue;
    const c = counts.find((x) => x.fleetId === fleetId);
    await deps.alerts.publish(ALERT_SUBJECT[d.event](fleetId), {
      event: d.event,
      fleetId,
      checkId,
      desiredVersion: c?.desiredVersion ?? null,
      hosts: c?.hosts ?? 0,
      nonCompliant: c?.nonCompliant ?? 0,
      unknown: c?.unknown ?? 0,
      drifting: results
        .filter((r) => r.fleetId === fleetId && r.state !== 'COMPLIANT')
        .slice(0, 50)
        .map((r) => ({ hostId: r.hostId, state: r.state, reasons: r.state === 'UNKNOWN' ? [r.unknownCause] : r.reasons })),
      report: check.reportKey,
    });
    await deps.store.markComplianceNotified(checkId, fleetId);
  }
  return {
    checkId,
    status: 'completed',
    hosts: check.hostCount,
    compliant: check.compliant ?? 0,
    nonCompliant: check.nonCompliant ?? 0,
    unknown: check.unknown ?? 0,
    reportKey: check.reportKey ?? keys.report(checkId),
    drift,
  };
}

// ---------------------------------------------------------------- fail

export const FailInput = z.object({
  executionArn: z.string().min(1).max(2048),
  error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).loose().optional(),
});

export async function failCheck(
  input: z.output<typeof FailInput>,
  deps: { store: ComplianceStore },
): Promise<{ checkId: string; status: 'failed' | 'completed' | 'running' | 'none'; error: string; cause: string }> {
  const { executionArn, error } = input;
  const checkId = checkIdFor(executionArn);
  const errorName = error?.Error ?? 'ComplianceCheckFailed';
  const cause = clip(redactSecrets(error?.Cause ?? 'unknown cause'));
  const check = await deps.store.failComplianceCheck(checkId, `${errorName}: ${cause}`);
  return { checkId, status: check?.status ?? 'none', error: errorName, cause };
}
