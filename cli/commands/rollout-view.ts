/**
 * How a rollout reads to an operator (`rollout status`, and after `--wait`):
 * its waves as planned now, each host's last outcome in the rollout, and what
 * changed in the fleet since the rollout's first plan.
 */
import { changesSinceFirstPlan } from '../../core/rollout-plan';
import { EXIT } from '../exit-codes';
import { ago, CliError, print, table } from '../output';
import type { HostCommandDeps } from './host';

export async function rolloutSummary(deps: HostCommandDeps, rolloutId: string) {
  const rollout = await deps.store.findRollout(rolloutId);
  if (!rollout) throw new CliError(`--rollout: no rollout ${rolloutId}`, EXIT.invalidInput);
  const waves = await deps.store.listRolloutWaves(rolloutId);
  const recorded = await deps.store.listRolloutHosts(rolloutId);
  const results = new Map(recorded.map((h) => [h.hostId, h]));
  const planned = new Set(waves.flatMap((w) => w.hostIds));
  const host = (hostId: string) => {
    const r = results.get(hostId);
    return { hostId, result: r?.result ?? 'pending', outcome: r?.outcome ?? null, attempt: r?.attempt ?? null, message: r?.message ?? null, when: r?.updatedAt ?? null };
  };
  return {
    rolloutId,
    fleetId: rollout.fleetId,
    version: rollout.targetVersion,
    status: rollout.status,
    attempt: rollout.attempt,
    failurePolicy: rollout.failurePolicy,
    allowDestructive: rollout.allowDestructive,
    executionArn: rollout.executionArn,
    sinceFirstPlan: changesSinceFirstPlan(rollout, [...planned]),
    waves: waves.map((w) => ({ wave: w.index, name: w.name, tier: w.tier, status: w.status, maxFailures: w.maxFailures, hosts: w.hostIds.map(host) })),
    /** Hosts with a result that are in no wave now: no longer in the fleet, never touched again. */
    notInPlan: recorded.filter((h) => !planned.has(h.hostId)).map((h) => host(h.hostId)),
  };
}
export type RolloutSummary = Awaited<ReturnType<typeof rolloutSummary>>;

export function printSummary(s: RolloutSummary) {
  print(`rollout ${s.rolloutId}: fleet ${s.fleetId} → ${s.version}, ${s.status} (attempt ${s.attempt}, policy ${s.failurePolicy}${s.allowDestructive ? ', destructive allowed' : ''})`);
  if (s.sinceFirstPlan && (s.sinceFirstPlan.added.length || s.sinceFirstPlan.removed.length)) {
    print(`since the first plan: added ${s.sinceFirstPlan.added.join(', ') || 'none'}; no longer in the fleet ${s.sinceFirstPlan.removed.join(', ') || 'none'}`);
  }
  print(
    table(
      s.waves.map((w) => {
        const count = (r: string) => w.hosts.filter((h) => h.result === r).length;
        return {
          wave: `${w.wave} ${w.name}`,
          tier: w.tier,
          status: w.status,
          hosts: w.hosts.length,
          done: count('succeeded'),
          failed: count('failed') + count('refused') + count('rollback-failed'),
          unreachable: count('unreachable'),
          rolledBack: count('rolled-back'),
          budget: w.maxFailures,
        };
      }),
    ),
  );
  // each host's last outcome in this rollout
  const rows = [...s.waves.flatMap((w) => w.hosts.map((h) => ({ wave: String(w.wave), ...h }))), ...s.notInPlan.map((h) => ({ wave: 'retired', ...h }))].map((h) => ({
    ...h,
    outcome: h.outcome ?? (h.result === 'pending' ? null : h.result),
    message: h.message ? h.message.slice(0, 160) : null,
    when: ago(h.when),
  }));
  print(`\n${table(rows, ['wave', 'hostId', 'result', 'outcome', 'attempt', 'when', 'message'])}`);
}
