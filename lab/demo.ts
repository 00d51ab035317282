/**
 * `npm run demo`: the lab end to end. A small fleet (staging and production,
 * both database modes) is upgraded tier by tier through the synthesized
 * HostUpgrade; then a broken release is pushed to one host, whose schema sync
 * fails after a destructive change: it is restored from its backup with every
 * row intact. The summary is checked against the registry and the hosts
 * themselves, and the demo exits non-zero if anything did not go as shown.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executionName } from '../cli/commands/host';
import { startExecution, waitForExecution, type ExecutionResult } from '../cli/executions';
import { table } from '../cli/output';
import { createLabFleet, stopLabFleet, type LabFleetHost, type LabHostSpec } from './fleet';
import { dataChecksums, runningVersions } from './hosts';
import { startLab, type Lab } from './lab';

const out = (line = '') => process.stdout.write(`${line}\n`);
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;

interface Row {
  host: string;
  tier: string;
  mode: string;
  before: string;
  target: string;
  outcome: string;
  running: string;
  data: string;
}

async function upgrade(lab: Lab, sfn: SFNClient, host: LabFleetHost, version: string, extra: Record<string, unknown> = {}): Promise<ExecutionResult> {
  const { executionArn } = await startExecution(sfn, lab.stateMachines.hostUpgrade, executionName([host.id, version, 'demo']), {
    hostId: host.id,
    version,
    requestedBy: 'demo',
    ...extra,
  });
  return waitForExecution(sfn, executionArn, (step) => out(`    ${host.id.padEnd(8)} → ${step}`), 250);
}

export async function runDemo(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetwave-demo-'));
  const problems: string[] = [];
  let lab: Lab | undefined;
  let hosts: LabFleetHost[] = [];
  try {
    out('fleetwave demo — the lab: real PostgreSQL, S3 (s3rver), SSM agents running the documents with bash,');
    out('Step Functions running the state machines the CDK app synthesizes, Lambda tasks from their bundles.\n');
    out(`[${elapsed()}] starting the lab in ${dir}`);
    lab = await startLab({ dir, timeScale: 0.05 });
    for (const [k, v] of Object.entries(lab.env)) process.env[k] = v;
    const sfn = new SFNClient({});

    const specs: LabHostSpec[] = [
      { id: 'stg-1', tier: 'staging', mode: 'embedded', version: '1.4.0' },
      { id: 'stg-2', tier: 'staging', mode: 'external', version: '1.4.0' },
      { id: 'prod-1', tier: 'production', mode: 'embedded', version: '1.4.0' },
      { id: 'prod-2', tier: 'production', mode: 'external', version: '1.4.0', composeFlavor: 'v1' },
    ];
    // registered as `fleetwave fleet apply` registers a fleet file; the releases were applied at lab start
    hosts = await createLabFleet(lab, 'demo', specs, {
      concurrency: 2,
      waves: [
        { name: 'staging', tier: 'staging', hosts: '100%', failureThreshold: 0 },
        { name: 'canary', tier: 'production', hosts: 1, failureThreshold: 0 },
        { name: 'production', tier: 'production', hosts: '100%', failureThreshold: 0 },
      ],
    });
    out(`[${elapsed()}] fleet "demo": ${hosts.map((h) => `${h.id} (${h.tier}, ${h.mode})`).join(', ')}\n`);
    const rows = new Map<string, Row>(
      hosts.map((h) => [h.id, { host: h.id, tier: h.tier, mode: h.mode, before: '1.4.0', target: '1.5.0', outcome: '', running: '', data: '' }]),
    );

    // the fleet rollout: staging, then a production canary, then the rest, each wave judged before the next
    const beforeAll = new Map(await Promise.all(hosts.map(async (h) => [h.id, await dataChecksums(h.root)] as const)));
    out(`[${elapsed()}] FleetRollout demo → 1.5.0 (waves: staging 100%, canary 1, production rest)`);
    const { executionArn } = await startExecution(sfn, lab.stateMachines.fleetRollout!, 'demo-1-5-0--a1', { fleetId: 'demo', version: '1.5.0', requestedBy: 'demo' });
    const store = lab.store;
    let last = '';
    const ticker = setInterval(() => {
      void Promise.all([store.listRolloutWaves('demo-1-5-0'), store.listRolloutHosts('demo-1-5-0')])
        .then(([waves, results]) => {
          const done = new Map(results.map((r) => [r.hostId, r.result]));
          const line = waves.map((w) => `${w.name} ${w.hostIds.filter((h) => done.has(h)).length}/${w.hostIds.length}`).join('  ');
          if (line !== last) out(`    ${line}`);
          last = line;
        })
        .catch(() => undefined);
    }, 500);
    const rolled = await waitForExecution(sfn, executionArn, () => undefined, 500).finally(() => clearInterval(ticker));
    out(`[${elapsed()}] rollout demo-1-5-0: ${rolled.status}${rolled.error ? ` ${rolled.error}` : ''}\n`);
    if (rolled.status !== 'SUCCEEDED') problems.push(`rollout to 1.5.0 ended ${rolled.status} ${rolled.error ?? ''} ${rolled.cause ?? ''}`);
    for (const h of hosts) {
      const row = rows.get(h.id)!;
      const result = (await store.listRolloutHosts('demo-1-5-0')).find((r) => r.hostId === h.id);
      row.outcome = result?.result === 'succeeded' ? 'upgraded' : (result?.result ?? 'not run');
      const after = await dataChecksums(h.root);
      row.data = Object.keys(beforeAll.get(h.id)!).every((t) => t in after) ? 'migrated' : 'TABLE MISSING';
    }

    const victim = hosts.find((h) => h.id === 'prod-2')!;
    out(`[${elapsed()}] injected failure: ${victim.id} (${victim.mode} database) → 1.6.1, a release whose schema sync fails`);
    out('    after 1.6.0\'s destructive change (drops dashboards.legacy_notes); consent given with allowDestructive');
    const beforeChecksums = await dataChecksums(victim.root);
    const r = await upgrade(lab, sfn, victim, '1.6.1', { allowDestructive: true });
    const afterChecksums = await dataChecksums(victim.root);
    const intact = JSON.stringify(beforeChecksums) === JSON.stringify(afterChecksums);
    out(`[${elapsed()}] ${victim.id}: ${r.status} ${r.error ?? ''} — ${r.cause ?? ''}\n`);
    rows.set(`${victim.id}#2`, {
      host: victim.id,
      tier: victim.tier,
      mode: victim.mode,
      before: '1.5.0',
      target: '1.6.1',
      outcome: r.error === 'UpgradeRestored' ? 'restored' : `${r.error ?? r.status}`,
      running: '',
      data: intact ? 'identical (row checksums)' : 'CHANGED',
    });
    if (r.error !== 'UpgradeRestored') problems.push(`${victim.id}: expected the 1.6.1 upgrade to be restored, got ${r.status} ${r.error}`);
    if (!intact) problems.push(`${victim.id}: data after restore differs from before the upgrade`);

    // check the summary against the registry and the hosts themselves
    for (const h of hosts) {
      const registry = (await lab.store.getHost(h.id)).observedVersion;
      const running = Object.values(runningVersions(h.root));
      const expected = '1.5.0';
      for (const row of [rows.get(h.id), rows.get(`${h.id}#2`)]) if (row) row.running = running.every((v) => v === expected) ? expected : running.join('/');
      if (registry !== expected) problems.push(`${h.id}: registry says ${registry}, expected ${expected}`);
      if (!running.every((v) => v === expected)) problems.push(`${h.id}: services run ${running.join(', ')}, expected ${expected}`);
    }
    const runs = await lab.store.listRuns({ hostId: victim.id });
    const upgradeRun = runs.find((x) => x.kind === 'upgrade' && x.targetVersion === '1.6.1');
    if (upgradeRun?.outcome !== 'restored') problems.push(`${victim.id}: registry records outcome ${upgradeRun?.outcome}, expected restored`);
    const backups = await lab.store.listBackups(victim.id);
    const verified = backups.filter((b) => b.status === 'verified').length;

    out('summary');
    out(table([...rows.values()] as unknown as Record<string, unknown>[], ['host', 'tier', 'mode', 'before', 'target', 'outcome', 'running', 'data']));
    out(`\n${victim.id}: ${verified} verified backup(s) in S3; failed step ${upgradeRun?.failedStep ?? '?'}, ${upgradeRun?.message ?? ''}`);
    out(`alerts published: ${lab.sns.published().length}`);
    if (problems.length > 0) {
      out(`\nDEMO FAILED (${elapsed()}):`);
      for (const p of problems) out(`  - ${p}`);
      return 1;
    }
    out(`\ndemo ok in ${elapsed()}: every host upgraded or restored, registry and hosts agree.`);
    return 0;
  } catch (err) {
    out(`\nDEMO FAILED: ${(err as Error).stack ?? String(err)}`);
    return 1;
  } finally {
    await stopLabFleet(hosts).catch(() => undefined);
    await lab?.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
