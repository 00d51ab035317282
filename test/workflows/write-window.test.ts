/**
 * Issue #12 item 8: a write the app accepts after the backup was taken is not
 * in that backup, and a restore throws it away. The backup is taken as late as
 * it can be (the images are pulled before it), an embedded host's services stay
 * stopped from the backup to the restart (no write can be accepted and lost),
 * and every run says how long its write window was: for an external database,
 * where the app keeps running, the span in which accepted writes are missing
 * from the backup, which a restore then loses, said in the run's output and in
 * `host show`.
 *
 * Two hosts are upgraded at once to a release that is unhealthy there, so the
 * upgrade restores; between its verified backup and its restart the test makes
 * a write to the app as a user would (POST /api/dashboards). A third
 * (embedded) host's run ends between the backup and the restart: its tag comes
 * from `.env`, which becomes a link once the backup is taken, so pin-tags
 * refuses it; the services the backup stopped must be running again.
 */
import { readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExecution, waitForExecution, type ExecutionResult } from '../../cli/executions';
import type { LabFleetHost } from '../../lab/fleet';
import { dataTables, runningVersions } from '../../lab/hosts';
import { jsonOf, pointCliAtLab, runCli } from '../support/cli';
import { startTestLab, type TestLab } from '../support/lab';

const HEALTH = { passes: 2, intervalSeconds: 1, timeoutSeconds: 6 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Observed {
  host: LabFleetHost;
  result: ExecutionResult;
  /** The id the app gave the write it accepted, null when it refused it (not listening). */
  acceptedId: number | null;
  /** SSM documents the upgrade sent before the write was answered. */
  sentBeforeWrite: string[];
  documents: string[];
}

let t: TestLab;
const seen = new Map<string, Observed>();

const documentsFor = (h: LabFleetHost) =>
  t.lab.ssm
    .sentCommands()
    .filter((c) => c.instanceIds.includes(h.instanceId))
    .map((c) => c.documentName.replace(/^.*Fleetwave-/, ''));

/** POST a new dashboard as the console would; the id it was stored under, or null when refused. */
async function writeDashboard(h: LabFleetHost): Promise<number | null> {
  const url = new URL('/api/dashboards', h.healthUrl);
  try {
    const res = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(5000) });
    return res.status === 201 ? ((await res.json()) as { id: number }).id : null;
  } catch {
    return null; // nothing listening: the services are stopped
  }
}

async function upgradeWritingAfterBackup(h: LabFleetHost, afterBackup: () => void = () => undefined): Promise<Observed> {
  const { executionArn } = await startExecution(t.sfn, t.lab.stateMachines.hostUpgrade, `ww-${h.id}`, { hostId: h.id, version: '1.5.0', healthCheck: HEALTH });
  // the moment the backup is verified, before the restart is sent
  for (let i = 0; i < 3000 && !(await t.lab.store.listBackups(h.id)).some((b) => b.status === 'verified'); i++) await sleep(40);
  afterBackup();
  const acceptedId = await writeDashboard(h);
  const sentBeforeWrite = documentsFor(h);
  const result = await waitForExecution(t.sfn, executionArn, () => undefined, 250);
  return { host: h, result, acceptedId, sentBeforeWrite, documents: documentsFor(h) };
}

beforeAll(async () => {
  t = await startTestLab();
  pointCliAtLab(t);
  const hosts = await t.addHosts('ww', [
    { id: 'ww-e', tier: 'staging', mode: 'embedded', version: '1.4.0', faults: { unhealthy: '1.5.0' } },
    { id: 'ww-x', tier: 'staging', mode: 'external', version: '1.4.0', faults: { unhealthy: '1.5.0' } },
    { id: 'ww-p', tier: 'staging', mode: 'embedded', version: '1.4.0' },
  ]);
  // ww-p: the customer's compose file takes the tag from .env
  const p = hosts.find((h) => h.id === 'ww-p')!;
  const composeFile = join(p.composeDir, 'docker-compose.yml');
  writeFileSync(composeFile, readFileSync(composeFile, 'utf8').replace(/^( {4}image: semaphor\/[a-z-]+):1\.4\.0$/gm, '$1:${TAG}'));
  writeFileSync(join(p.composeDir, '.env'), 'TAG=1.4.0\n');
  const linkEnv = () => {
    const real = join(p.root, 'env.real');
    writeFileSync(real, readFileSync(join(p.composeDir, '.env')));
    unlinkSync(join(p.composeDir, '.env'));
    symlinkSync(real, join(p.composeDir, '.env'));
  };
  const observed = await Promise.all(hosts.map((h) => upgradeWritingAfterBackup(h, h === p ? linkEnv : undefined)));
  for (const o of observed) seen.set(o.host.id, o);
}, 300_000);
afterAll(async () => {
  await t?.close();
});

interface ShownWindow {
  mode: string;
  servicesStopped: boolean;
  seconds: number | null;
  writesAtRiskSeconds: number | null;
}

describe('writes made after the backup', () => {
  it('are pulled for before the backup: the backup is the last thing before pinning and restarting', () => {
    for (const o of seen.values()) {
      expect(o.documents.slice(0, 5), o.host.id).toEqual(['Preflight', 'PullImages', 'Backup', 'PinTags', 'Restart']);
      // the write was made between the backup and the restart
      expect(o.sentBeforeWrite, o.host.id).toContain('Backup');
      expect(o.sentBeforeWrite, o.host.id).not.toContain('Restart');
    }
  });

  it('embedded: the services stay stopped from the backup to the restart, so no write is accepted and lost', async () => {
    const o = seen.get('ww-e')!;
    expect({ status: o.result.status, error: o.result.error }, o.result.cause ?? '').toEqual({ status: 'FAILED', error: 'UpgradeRestored' });
    expect(o.acceptedId, 'the app accepted a write after the backup was taken').toBeNull();
    // the restore leaves the host as it was before the upgrade: running its old version
    expect(Object.values(runningVersions(o.host.root))).toEqual(['1.4.0', '1.4.0', '1.4.0']);
    expect(await writeDashboard(o.host)).not.toBeNull();
    expect(o.result.cause).toMatch(/write window: the services were stopped from the backup until the restart \d+(\.\d+)? s later, writes at risk for 0 s: no write was lost/);
    const shown = jsonOf<{ runs: { kind: string; writeWindow: ShownWindow | null }[] }>(await runCli(['host', 'show', 'ww-e', '--json']));
    const upgradeRun = shown.runs.find((r) => r.kind === 'upgrade')!;
    expect(upgradeRun.writeWindow).toMatchObject({ mode: 'embedded', servicesStopped: true, writesAtRiskSeconds: 0 });
    expect(upgradeRun.writeWindow!.seconds).toBeGreaterThan(0);
  });

  it('external: a write accepted after the backup is lost by the restore, and the run says for how long writes were at risk', async () => {
    const o = seen.get('ww-x')!;
    expect({ status: o.result.status, error: o.result.error }, o.result.cause ?? '').toEqual({ status: 'FAILED', error: 'UpgradeRestored' });
    expect(o.acceptedId, 'the app keeps serving on an external database').not.toBeNull();
    const ids = ((await dataTables(o.host.root)).dashboards?.rows ?? []).map((r) => Number(r.id));
    expect(ids).not.toContain(o.acceptedId);
    expect(o.result.cause).toMatch(/write window: .*writes at risk for \d+(\.\d+)? s \(from pg_dump's snapshot\): writes accepted then are not in the backup and were lost by the restore/);
    const shown = jsonOf<{ runs: { kind: string; writeWindow: ShownWindow | null }[] }>(await runCli(['host', 'show', 'ww-x', '--json']));
    const w = shown.runs.find((r) => r.kind === 'upgrade')!.writeWindow!;
    expect(w).toMatchObject({ mode: 'external', servicesStopped: false });
    expect(w.writesAtRiskSeconds).toBeGreaterThan(0);
    expect(w.writesAtRiskSeconds).toBeGreaterThanOrEqual(w.seconds!);
    const text = await runCli(['host', 'show', 'ww-x']);
    expect(text.stdout).toMatch(/write window: .*writes at risk for \d+(\.\d+)? s/);
  });

  it('a run that ends between the backup and the restart starts the services the backup stopped again, and says why it ended', async () => {
    const o = seen.get('ww-p')!;
    expect({ status: o.result.status, error: o.result.error }, o.result.cause ?? '').toEqual({ status: 'FAILED', error: 'UpgradeFailed' });
    expect(o.acceptedId, 'the app accepted a write after the backup was taken').toBeNull();
    const [run] = await t.lab.store.listRuns({ hostId: 'ww-p' });
    // a refused pin is classified with the pull (core/classify.ts): the new images never ran
    expect(run).toMatchObject({ outcome: 'pull-failed', failedStep: 'pin-tags' });
    expect(run!.message).toContain('.env is a symbolic link');
    // started again by the restart document on the unchanged configuration: the old version, healthy
    expect(o.documents).toEqual(['Preflight', 'PullImages', 'Backup', 'PinTags', 'Restart']);
    expect(Object.values(runningVersions(o.host.root))).toEqual(['1.4.0', '1.4.0', '1.4.0']);
    expect((await fetch(o.host.healthUrl)).status).toBe(200);
    expect(o.result.cause).toMatch(/write window: the services were stopped from the backup until the restart \d+(\.\d+)? s later, writes at risk for 0 s/);
  });
});
