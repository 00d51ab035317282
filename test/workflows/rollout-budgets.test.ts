/**
 * FleetRollout's failure budgets in the lab, above zero and in waves larger than
 * the concurrency: stop claiming once over budget, tolerate failures under the
 * percentage, count only this attempt, unreachable hosts that do not count, a
 * stop mid-wave, refusals, and a rollback that leaves a noop host alone. The
 * histories of a clean rollout are measured here too, and bound the growth of a
 * 10,000-host rollout (test/core/rollout-scale.test.ts plans that one).
 * Independent fleets run concurrently to keep the file affordable.
 */
import { DescribeExecutionCommand, ListExecutionsCommand, type HistoryEvent } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rolloutStop, type RolloutDeps } from '../../cli/commands/rollout';
import { startExecution, waitForExecution, type ExecutionResult } from '../../cli/executions';
import type { Target } from '../../cli/target';
import { BATCH_SIZE } from '../../core/rollout';
import { planWaves, type WaveSpec } from '../../core/waves';
import { type LabHostSpec } from '../../lab/fleet';
import { dataChecksums, runningVersions, setFaults } from '../../lab/hosts';
import { startTestLab, type TestLab } from '../support/lab';

let t: TestLab;

const OLD = ['1.4.0', '1.4.0', '1.4.0'];
const NEW = ['1.5.0', '1.5.0', '1.5.0'];
const host = (id: string) => t.hosts.find((h) => h.id === id)!;
const versions = (id: string) => Object.values(runningVersions(host(id).root));

function specs(prefix: string, staging: number, production: number, version = '1.4.0'): LabHostSpec[] {
  return [
    ...Array.from({ length: staging }, (_, i) => ({ id: `${prefix}-s${i + 1}`, tier: 'staging' as const, mode: 'embedded' as const, version })),
    ...Array.from({ length: production }, (_, i) => ({ id: `${prefix}-p${i + 1}`, tier: 'production' as const, mode: 'embedded' as const, version })),
  ];
}

/** The hosts of a fleet in the order the rollout's Map takes them (the planner's order). */
async function fleet(id: string, hosts: LabHostSpec[], config: Record<string, unknown>): Promise<string[][]> {
  await t.addHosts(id, hosts, config);
  return planWaves(id, hosts.map((h) => ({ id: h.id, tier: h.tier })), config.waves as WaveSpec[]).map((w) => w.hostIds);
}

async function start(fleetId: string, attempt = 1, version = '1.5.0'): Promise<string> {
  return (await startExecution(t.sfn, t.lab.stateMachines.fleetRollout!, `${fleetId}--a${attempt}`, { fleetId, version })).executionArn;
}
const finished = (executionArn: string): Promise<ExecutionResult> => waitForExecution(t.sfn, executionArn, () => undefined, 250);

async function listAll(stateMachineArn: string) {
  const r = await t.sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 1000 }));
  return r.executions ?? [];
}
/** HostUpgrade executions a rollout started, by host. */
async function startedHosts(rolloutId: string): Promise<string[]> {
  const names = (await listAll(t.lab.stateMachines.hostUpgrade)).map((e) => e.name!).filter((n) => n.startsWith(`${rolloutId}--`));
  return names.map((n) => n.split('--')[1]!).sort();
}
const history = (executionArn: string): Promise<HistoryEvent[]> => t.history(executionArn);
const results = async (rolloutId: string) => Object.fromEntries((await t.lab.store.listRolloutHosts(rolloutId)).map((h) => [`${h.hostId}#${h.attempt}`, h.result]));
/** A failed rollout's own words, then each host's last run: what a failure message needs to be read. */
async function why(fleetId: string): Promise<string> {
  const r = done[fleetId]!;
  const lines = [`${r.error}: ${r.cause}`];
  for (const h of t.hosts.filter((x) => x.id.startsWith(`${fleetId.replace(/\d+$/, '')}-`))) {
    const [run] = await t.lab.store.listRuns({ hostId: h.id, limit: 1 });
    lines.push(`  ${h.id}: ${run ? `${run.status} ${run.outcome ?? ''} at ${run.failedStep ?? '-'}: ${run.message ?? ''}` : 'no run'}`);
  }
  return lines.join('\n');
}

const deps = (): RolloutDeps => ({
  target: { kind: 'lab', region: 'us-east-1', databaseUrl: t.lab.databaseUrl, stateMachines: t.lab.stateMachines, backupBucket: t.lab.backupBucket } as Target,
  store: t.lab.store,
  sfn: t.sfn,
});

const staging = (failureThreshold: number | string) => [{ tier: 'staging', hosts: '100%', failureThreshold }];
const twoWaves = (failureThreshold: number | string) => [
  { tier: 'staging', hosts: '100%', failureThreshold },
  { tier: 'production', hosts: '100%', failureThreshold: 0 },
];

const done: Record<string, ExecutionResult> = {};
const order: Record<string, string[][]> = {};
const before: Record<string, Record<string, string>> = {};
let resumeFirst: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestLab();

  // over: 4 staging hosts one at a time, budget 1 ('25%'); the first two fail → the last two never start
  order.over = await fleet('over', specs('over', 4, 0), { concurrency: 1, waves: staging('25%') });
  for (const id of order.over![0]!.slice(0, 2)) await setFaults(host(id).root, { pullFails: true });
  // tol: 3 staging hosts two at a time, budget '50%' (1); one fails → the wave is good, production goes on
  order.tol = await fleet('tol', specs('tol', 3, 1), { concurrency: 2, waves: twoWaves('50%') });
  await setFaults(host(order.tol![0]![1]!).root, { pullFails: true });
  // unr: budget 0, one agent offline, unreachable hosts do not count
  order.unr = await fleet('unr', specs('unr', 3, 0), { concurrency: 2, waves: staging(0), unreachableCountsAsFailure: false });
  t.lab.ssm.setOnline(host('unr-s2').instanceId, false);
  // resume: budget 0, a failure in attempt 1; attempt 2 must not count it
  order.resume = await fleet('resume', specs('resume', 3, 0), { concurrency: 2, waves: staging(0) });
  await setFaults(host('resume-s1').root, { pullFails: true });
  // stop: 3 staging hosts one at a time, stopped while the first runs
  order.stop = await fleet('stop', specs('stop', 3, 0), { concurrency: 1, waves: staging(0) });
  // refused: a host whose lease another run holds refuses the upgrade
  order.refused = await fleet('refused', specs('refused', 2, 0), { concurrency: 2, waves: staging(1) });
  await t.lab.store.acquireLease('refused-s1', 'arn:aws:states:us-east-1:000000000000:execution:HostUpgrade:someone-else', 3600);
  // noop: production has a host already on 1.5.0; a failed production wave rolls back everything upgraded
  order.noop = await fleet('noop', [...specs('noop', 1, 2), { id: 'noop-p3', tier: 'production', mode: 'embedded', version: '1.5.0' }], {
    concurrency: 2,
    waves: [
      { tier: 'staging', hosts: '100%', failureThreshold: 0 },
      { tier: 'production', hosts: '100%', failureThreshold: 0 },
    ],
    failurePolicy: 'rollback-all',
  });
  await setFaults(host('noop-p2').root, { schemaSyncFails: true });
  // hist: a clean rollout whose histories are measured (waves of 1 and 3 hosts)
  order.hist = await fleet('hist', specs('hist', 1, 3), { concurrency: 2, waves: twoWaves(0) });
  for (const h of t.hosts) before[h.id] = await dataChecksums(h.root);

  const stopArn = await start('stop');
  const others = ['over', 'tol', 'unr', 'resume', 'refused', 'noop', 'hist'];
  const running = others.map((f) => start(f).then(finished));
  // stop mid-wave: once the first host's HostUpgrade exists, and before it can have finished
  for (let i = 0; i < 2400 && (await startedHosts('stop-1-5-0')).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect(await rolloutStop(deps(), { rollout: 'stop-1-5-0', json: true })).toBe(0);
  done.stop = await finished(stopArn);
  (await Promise.all(running)).forEach((r, i) => (done[others[i]!] = r));
  // resume: the fault is gone, attempt 2 (a host's row is rewritten by each attempt: keep the first)
  resumeFirst = await results('resume-1-5-0');
  await setFaults(host('resume-s1').root, {});
  done.resume2 = await finished(await start('resume', 2));
}, 1_200_000);

afterAll(async () => {
  await t?.close();
});

describe('wave failure budgets', () => {
  it('stops claiming once the wave is over its budget: the remaining hosts are never started', async () => {
    expect(done.over!.error).toBe('RolloutHalted');
    const [first, second, third, fourth] = order.over![0]!;
    expect(await startedHosts('over-1-5-0')).toEqual([first!, second!].sort());
    for (const id of [third!, fourth!]) expect(versions(id)).toEqual(OLD);
    const [wave] = await t.lab.store.listRolloutWaves('over-1-5-0');
    expect(wave).toMatchObject({ maxFailures: 1, status: 'failed', failed: 2 });
  });

  it('tolerates failures under the wave\'s percentage and goes on to the next wave', async () => {
    expect(done.tol!.status, await why('tol')).toBe('SUCCEEDED');
    const [a, failing, c] = order.tol![0]!;
    expect(versions(failing!)).toEqual(OLD);
    for (const id of [a!, c!, 'tol-p1']) expect(versions(id)).toEqual(NEW);
    const waves = await t.lab.store.listRolloutWaves('tol-1-5-0');
    expect(waves.map((w) => [w.tier, w.hostIds.length, w.maxFailures, w.status, w.failed])).toEqual([
      ['staging', 3, 1, 'succeeded', 1],
      ['production', 1, 0, 'succeeded', 0],
    ]);
  });

  it('does not count unreachable hosts when unreachableCountsAsFailure is false', async () => {
    expect(done.unr!.status, await why('unr')).toBe('SUCCEEDED');
    expect((await results('unr-1-5-0'))['unr-s2#1']).toBe('unreachable');
    expect(versions('unr-s2')).toEqual(OLD);
    for (const id of ['unr-s1', 'unr-s3']) expect(versions(id)).toEqual(NEW);
    expect((await t.lab.store.listRolloutWaves('unr-1-5-0'))[0]).toMatchObject({ maxFailures: 0, status: 'succeeded', failed: 0 });
  });

  it('does not count an earlier attempt\'s failures on resume', async () => {
    expect(done.resume!.error).toBe('RolloutHalted');
    expect(done.resume2!.status, await why('resume2')).toBe('SUCCEEDED');
    expect(resumeFirst['resume-s1#1']).toBe('failed');
    const final = await results('resume-1-5-0');
    expect(final['resume-s1#2']).toBe('succeeded');
    // what attempt 1 upgraded stays attempt 1's: not redone
    for (const [key, result] of Object.entries(resumeFirst)) if (result === 'succeeded') expect(final[key], key).toBe('succeeded');
    expect(Object.values(final)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    // attempt 2 started only the host that had failed
    expect((await startedHosts('resume-1-5-0')).filter((h) => h === 'resume-s1')).toEqual(['resume-s1', 'resume-s1']);
    for (const id of ['resume-s1', 'resume-s2', 'resume-s3']) expect(versions(id)).toEqual(NEW);
    expect((await t.lab.store.listRolloutWaves('resume-1-5-0'))[0]).toMatchObject({ status: 'succeeded', failed: 0 });
  });

  it('stops mid-wave: the running host finishes, no further host is started', async () => {
    expect(done.stop!.status, await why('stop')).toBe('SUCCEEDED');
    expect((await t.lab.store.getRollout('stop-1-5-0')).status).toBe('stopped');
    const [first, ...rest] = order.stop![0]!;
    expect(await startedHosts('stop-1-5-0')).toEqual([first!]);
    expect(versions(first!)).toEqual(NEW);
    for (const id of rest) expect(versions(id)).toEqual(OLD);
  });

  it('records a host whose upgrade is refused as refused, counts it, and leaves the host alone', async () => {
    expect(done.refused!.status, await why('refused')).toBe('SUCCEEDED'); // budget 1
    expect((await results('refused-1-5-0'))['refused-s1#1']).toBe('refused');
    expect(versions('refused-s1')).toEqual(OLD);
    expect(await dataChecksums(host('refused-s1').root)).toEqual(before['refused-s1']);
    expect(versions('refused-s2')).toEqual(NEW);
    expect((await t.lab.store.listRolloutWaves('refused-1-5-0'))[0]).toMatchObject({ maxFailures: 1, failed: 1 });
  });

  it('refuses a rollout to a version outside the catalog before any host starts', async () => {
    const refused = await finished(await start('hist', 9, '9.9.9'));
    expect(refused).toMatchObject({ status: 'FAILED', error: 'RolloutRefusedError' });
    expect(await startedHosts('hist-9-9-9')).toEqual([]);
  });

  it('rolls back only what the rollout upgraded: the noop host keeps its version and data', async () => {
    expect(done.noop!.error, done.noop!.cause ?? '').toBe('RolloutRolledBack');
    for (const id of ['noop-s1', 'noop-p1', 'noop-p2']) {
      expect(versions(id)).toEqual(OLD);
      expect(await dataChecksums(host(id).root)).toEqual(before[id]);
    }
    expect(versions('noop-p3')).toEqual(NEW);
    expect(await dataChecksums(host('noop-p3').root)).toEqual(before['noop-p3']);
    const r = await results('noop-1-5-0');
    expect(r['noop-p3#1']).toBe('succeeded');
    expect(Object.entries(r).filter(([, v]) => v === 'rolled-back').map(([k]) => k.split('#')[0]).sort()).toEqual(['noop-p1', 'noop-s1']);
    // noop-p2 restored itself through its own HostUpgrade; no rollback execution for the noop host
    const rollbacks = (await listAll(t.lab.stateMachines.hostRollback)).map((e) => e.name!);
    expect(rollbacks.some((n) => n.includes('noop-p3'))).toBe(false);
  });
});

describe('history growth, measured on a clean rollout', () => {
  const MAX_HISTORY = 25_000;
  const HOSTS = 10_000;
  const WAVES = 4; // what test/core/rollout-scale.test.ts plans for 10,000 hosts

  it('bounds FleetRollout by batches and waves, and RolloutBatch by its hosts', async () => {
    expect(done.hist!.status, await why('hist')).toBe('SUCCEEDED');
    const fleetEvents = await history(done.hist!.executionArn);
    // every batch the rollout ran, by its number of hosts
    const batches: { hosts: number; events: number }[] = [];
    for (const e of await listAll(t.lab.stateMachines.rolloutBatch!)) {
      const d = await t.sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn! }));
      const input = JSON.parse(d.input ?? '{}') as { rollout?: { rolloutId?: string }; items?: unknown[] };
      if (input.rollout?.rolloutId === 'hist-1-5-0') batches.push({ hosts: input.items!.length, events: (await history(e.executionArn!)).length });
    }
    expect(batches.map((b) => b.hosts).sort()).toEqual([1, 3]);

    // RolloutBatch: per-host growth from the two measured batches, then BATCH_SIZE hosts
    const [small, large] = [...batches].sort((a, b) => a.hosts - b.hosts) as [typeof batches[0], typeof batches[0]];
    const perHost = (large.events - small.events) / (large.hosts - small.hosts);
    expect(perHost).toBeGreaterThan(0);
    const batchBase = small.events - small.hosts * perHost;
    expect(batchBase + BATCH_SIZE * perHost).toBeLessThan(MAX_HISTORY / 5);

    // FleetRollout: split at every NextBatch; the largest segment bounds one batch plus a wave's end
    const starts = fleetEvents.flatMap((e, i) => (e.stateEnteredEventDetails?.name === 'NextBatch' ? [i] : []));
    expect(starts.length).toBe(2 + 2); // per wave: one batch, then the empty NextBatch that ends it
    const segments = starts.map((s, k) => (starts[k + 1] ?? fleetEvents.length) - s);
    const perSegment = Math.max(...segments);
    const head = starts[0]!;
    // a wave of n hosts is ceil(n / BATCH_SIZE) batches plus the NextBatch that finds none
    const worst = head + (Math.ceil(HOSTS / BATCH_SIZE) + 2 * WAVES) * perSegment;
    expect(worst).toBeLessThan(MAX_HISTORY / 4);
  });
});
