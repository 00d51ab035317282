/**
 * The registry database misbehaves in the middle of a rollout (RELIABILITY.md:
 * "restarts, fails over or rotates its password in the middle of a rollout:
 * the rollout finishes, nothing is done twice"):
 * - its password is rotated the way Secrets Manager's single-user rotation
 *   does it (AWSPENDING, ALTER ROLE, AWSCURRENT) while the registry role's
 *   connections are cut, so every warm Lambda must connect again;
 * - its PostgreSQL server restarts (pg_ctl restart -m fast).
 * The lab runs its own PostgreSQL for this file (it is restarted), checking
 * passwords with scram-sha-256. Hosts are embedded-mode: their data is not on
 * the registry's server (on AWS a customer's database is another server).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExecution, waitForExecution, type ExecutionResult } from '../../cli/executions';
import { LAB_HEALTH_CHECK, type LabHostSpec } from '../../lab/fleet';
import { runningVersions } from '../../lab/hosts';
import { jsonOf, pointCliAtLab, runCli } from '../support/cli';
import { startTestLab, type TestLab } from '../support/lab';

let t: TestLab;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const specs = (fleetId: string): LabHostSpec[] => [
  { id: `${fleetId}-s1`, tier: 'staging', mode: 'embedded', version: '1.4.0' },
  { id: `${fleetId}-s2`, tier: 'staging', mode: 'embedded', version: '1.4.0' },
  { id: `${fleetId}-p1`, tier: 'production', mode: 'embedded', version: '1.4.0' },
  { id: `${fleetId}-p2`, tier: 'production', mode: 'embedded', version: '1.4.0' },
];

async function fleet(fleetId: string): Promise<string[]> {
  await t.addHosts(fleetId, specs(fleetId));
  await t.lab.store.upsertFleet({
    id: fleetId,
    config: {
      healthCheck: LAB_HEALTH_CHECK,
      concurrency: 2,
      waves: [
        { tier: 'staging', hosts: '100%', failureThreshold: 0 },
        { tier: 'production', hosts: '100%', failureThreshold: 0 },
      ],
    },
  });
  return specs(fleetId).map((s) => s.id);
}

/** Starts the rollout and resolves once one of its hosts has a run under way (the registry says so). */
async function startRollout(fleetId: string): Promise<{ finished: Promise<ExecutionResult> }> {
  const { executionArn } = await startExecution(t.sfn, t.lab.stateMachines.fleetRollout!, `${fleetId}--a1`, { fleetId, version: '1.5.0' });
  // in an object: an async function returning this promise would wait for it
  const finished = waitForExecution(t.sfn, executionArn, () => undefined, 250);
  const hostIds = t.hosts.filter((h) => h.id.startsWith(`${fleetId}-`)).map((h) => h.id);
  for (let i = 0; i < 1200; i++) {
    for (const hostId of hostIds) if ((await t.lab.store.listRuns({ hostId })).some((r) => r.status === 'running')) return { finished };
    await sleep(50);
  }
  throw new Error(`no host of ${fleetId} started upgrading`);
}

/** Cut every connection of the registry role: what a failover, or pools reopening after their idle timeout, amount to. */
async function cutRegistryConnections(): Promise<number> {
  const admin = new pg.Client({ connectionString: t.lab.adminDatabaseUrl });
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    const role = decodeURIComponent(new URL(t.lab.databaseUrl).username);
    const r = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()', [role]);
    return r.rowCount ?? 0;
  } finally {
    await admin.end();
  }
}

/** What each host's runs say, for a failure message: which step failed and why. */
async function runsOf(hostIds: string[]): Promise<string> {
  const lines: string[] = [];
  for (const hostId of hostIds) {
    for (const r of await t.lab.store.listRuns({ hostId })) lines.push(`${hostId} ${r.kind} ${r.status} ${r.outcome ?? ''} ${r.failedStep ?? ''} ${r.message ?? ''}`);
  }
  return lines.join('\n');
}

/** Each host upgraded once: one upgrade run, and each step's document sent to it once. */
async function expectDoneOnce(hostIds: string[]): Promise<void> {
  for (const hostId of hostIds) {
    const runs = (await t.lab.store.listRuns({ hostId })).filter((r) => r.kind === 'upgrade');
    expect(runs.map((r) => [r.targetVersion, r.status]), hostId).toEqual([['1.5.0', 'succeeded']]);
    const instanceId = t.hosts.find((h) => h.id === hostId)!.instanceId;
    const sent = t.lab.ssm.sentCommands().filter((c) => c.instanceIds.includes(instanceId));
    const perDocument = new Map<string, number>();
    for (const c of sent) perDocument.set(c.documentName, (perDocument.get(c.documentName) ?? 0) + 1);
    expect([...perDocument.values()].every((n) => n === 1), `${hostId}: ${JSON.stringify([...perDocument])}`).toBe(true);
    expect(Object.values(runningVersions(t.hosts.find((h) => h.id === hostId)!.root))).toEqual(['1.5.0', '1.5.0', '1.5.0']);
  }
}

beforeAll(async () => {
  t = await startTestLab({ ownPostgres: true });
}, 180_000);

afterAll(async () => {
  await t?.close();
});

describe('the registry database in the middle of a rollout', () => {
  it('has its password rotated while every registry connection is cut: the rollout finishes and nothing is done twice', async () => {
    const hostIds = await fleet('rot');
    const before = t.lab.databaseUrl;
    const { finished } = await startRollout('rot');

    let cut = 0;
    await t.lab.rotateRegistryPassword(async () => {
      // the database wants the new password; AWSCURRENT still holds the old one
      cut += await cutRegistryConnections();
      await sleep(1500);
    });
    cut += await cutRegistryConnections();
    expect(cut).toBeGreaterThan(0);

    const result = await finished;
    expect(result.status, `${result.error}: ${result.cause}\n${await runsOf(hostIds)}`).toBe('SUCCEEDED');
    await expectDoneOnce(hostIds);

    // the old password is refused now; the CLI, pointed at the lab afresh, reads with the new one
    expect(t.lab.databaseUrl).not.toBe(before);
    const stale = new pg.Client({ connectionString: before });
    stale.on('error', () => undefined);
    await expect(stale.connect()).rejects.toMatchObject({ code: '28P01' });
    pointCliAtLab(t);
    const status = await runCli(['status', '--fleet', 'rot', '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(jsonOf<{ host: string; version: string }[]>(status).map((h) => h.version)).toEqual(['1.5.0', '1.5.0', '1.5.0', '1.5.0']);
  }, 300_000);

  it('has its PostgreSQL restarted: the rollout finishes and nothing is done twice', async () => {
    const hostIds = await fleet('rst');
    const { finished } = await startRollout('rst');
    // down for 8 s, as a failover can be (longer than one connection's own wait): the
    // registry tasks that meet it wait or are retried by their Task, none fails
    await t.lab.postgres!.restart(8000);

    const result = await finished;
    expect(result.status, `${result.error}: ${result.cause}\n${await runsOf(hostIds)}`).toBe('SUCCEEDED');
    await expectDoneOnce(hostIds);
  }, 300_000);
});
