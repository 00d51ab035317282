/**
 * The HostUpgrade / HostRollback fault matrix in the lab, for one database
 * mode (faults-embedded.test.ts and faults-external.test.ts run it in
 * parallel). Each behaviour of ../shared/RELIABILITY.md gets its own host
 * with the fault injected; every host is created in one `addHosts` call and
 * the independent upgrades run concurrently in `beforeAll`, so each `it`
 * only asserts on what was recorded: the execution's status and error, the
 * registry's run (outcome + failedStep), backups, the versions the host runs
 * and whether it is healthy, row-level checksums of its data, the SSM
 * documents sent to it, and whether anything on it was restarted. One file:
 * the assertions read what that one concurrent `beforeAll` recorded.
 */
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, GetExecutionHistoryCommand } from '@aws-sdk/client-sfn';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExecution, type ExecutionResult } from '../../cli/executions';
import type { DatabaseMode } from '../../core/models';
import type { Backup, HostRun } from '../../core/registry/store';
import type { LabFleetHost, LabHostSpec } from '../../lab/fleet';
import { dataChecksums, dataSchemaVersion, dataTables, keptRows, runningVersions, setFaults, type HostData } from '../../lab/hosts';
import { paths, readApp, readContainers, type AppState, type ContainersState } from '../../lab/hosts/state';
import { labS3Client } from '../../lab/s3';
import { startTestLab, type TestLab } from '../support/lab';

/**
 * The lab's hosts answer health in well under a second, so the runs use a
 * tight policy: 3 passes in a row, one a second, given up after 15 s (the
 * product default, 5 s apart for 300 s, would make an unhealthy host cost
 * five minutes of test time). The restore is verified with the same policy.
 */
const HEALTH = { passes: 3, intervalSeconds: 1, timeoutSeconds: 10 };

/**
 * Upgrades of one mode's matrix that run at once. Every host step is real
 * bash calling the lab's docker (a node start-up per call) at real speed:
 * fourteen at once per mode, both modes side by side on two cores, stretched
 * a preflight past even the lab's 60 s floor on real-speed work (CI: "timed-out
 * at preflight"), a load no AWS host sees. The matrix is about outcomes, not
 * concurrency (rollouts test that).
 */
const AT_ONCE = 4;

const RESTORED_FROM = '1.4.0';
const TARGET = '1.5.0';

/** What a host looked like before the upgrade under test. */
interface Snapshot {
  checksums: Record<string, string>;
  tables: HostData;
  schema: string | null;
  app: AppState | null;
  containers: ContainersState | null;
  compose: string;
  env: string;
  dockerCalls: number;
}

async function snapshot(host: LabFleetHost): Promise<Snapshot> {
  return {
    checksums: await dataChecksums(host.root),
    tables: await dataTables(host.root),
    schema: await dataSchemaVersion(host.root),
    app: readApp(host.root),
    containers: readContainers(host.root),
    compose: readFileSync(join(host.composeDir, 'docker-compose.yml'), 'utf8'),
    env: readFileSync(join(host.composeDir, 'semaphor.env'), 'utf8'),
    dockerCalls: dockerCalls(host).length,
  };
}

/** Every `docker` / `docker-compose` call the host's scripts made, oldest first (the lab's docker logs them). */
function dockerCalls(host: LabFleetHost): string[][] {
  const file = join(paths(host.root).state, 'docker-calls.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as string[]);
}

const COMPOSE_SUBCOMMANDS = new Set(['up', 'down', 'stop', 'start', 'restart', 'pull', 'config', 'ps', 'logs', 'version']);
/** Compose subcommands run on the host since the snapshot (`up`, `stop`, ...). */
function composeCallsSince(host: LabFleetHost, before: Snapshot): string[] {
  return dockerCalls(host)
    .slice(before.dockerCalls)
    .filter((argv) => argv[0] === 'compose' || argv[0] === '__compose_v1')
    .map((argv) => argv.find((a) => COMPOSE_SUBCOMMANDS.has(a)) ?? '?');
}

async function healthStatus(host: LabFleetHost): Promise<number> {
  try {
    return (await fetch(host.healthUrl)).status;
  } catch {
    return 0; // not listening
  }
}

/** When the host's app logged each line (its own ISO timestamps), in the order it wrote them. */
function appLog(host: LabFleetHost): { at: number; text: string }[] {
  return readFileSync(paths(host.root).log('api-service'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => ({ at: Date.parse(l.slice(0, l.indexOf(' '))), text: l.slice(l.indexOf(' ') + 1) }));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Everything recorded about one upgrade, for the assertions. */
interface Recorded {
  host: LabFleetHost;
  before: Snapshot;
  result: ExecutionResult;
  /** SSM documents sent to the host by this upgrade (and its restore), in order. */
  documents: string[];
}

export function faultMatrix(mode: DatabaseMode): void {
  let t: TestLab;
  const m = mode === 'embedded' ? 'e' : 'x';
  const id = (name: string) => `${name}-${m}`;
  const hosts = new Map<string, LabFleetHost>();
  const rec = new Map<string, Recorded>();
  /** Extra observations made while the runs were going on. */
  const seen = {
    /** Schema versions the destructive host's data went through during its upgrade. */
    destructiveSchemas: new Set<string | null>(),
    throttledBefore: 0,
    throttledAfter: 0,
    /** Disk-full host: the verified backup of the good upgrade, before the failing one. */
    diskPreviousBackup: null as Backup | null,
    quarantinedRetry: null as ExecutionResult | null,
  };

  let executions = 0;
  const slots = pLimit(AT_ONCE);
  /**
   * Start a HostUpgrade and wait for its end, at most AT_ONCE at a time.
   * Unlike the harness's upgrade(), this polls DescribeExecution only, twice a
   * second: a dozen executions fetching their whole history ten times a second
   * would cost the lab more CPU than the upgrades themselves.
   */
  const upgrade = (hostId: string, version: string, extra: Record<string, unknown> = {}): Promise<ExecutionResult> =>
    slots(async () => {
      const name = `${hostId}-${version.replace(/\./g, '_')}-${Date.now().toString(36)}-${executions++}`;
      const input = { hostId, version, healthCheck: HEALTH, ...extra };
      const { executionArn } = await startExecution(t.sfn, t.lab.stateMachines.hostUpgrade, name, input);
      for (;;) {
        const d = await t.sfn.send(new DescribeExecutionCommand({ executionArn }));
        if (d.status !== 'RUNNING') {
          return { status: d.status!, output: d.output ? JSON.parse(d.output) : null, error: d.error ?? null, cause: d.cause ?? null, executionArn };
        }
        await sleep(500);
      }
    });

  const sentTo = (host: LabFleetHost) =>
    t.lab.ssm
      .sentCommands()
      .filter((c) => c.instanceIds.includes(host.instanceId))
      .map((c) => c.documentName);

  /** Upgrade `name`'s host, recording the state before and the documents sent during the run. */
  const run = async (name: string, version: string, extra: Record<string, unknown> = {}) => {
    const host = hosts.get(name)!;
    const before = await snapshot(host);
    const sentBefore = sentTo(host).length;
    const result = await upgrade(host.id, version, extra);
    rec.set(name, { host, before, result, documents: sentTo(host).slice(sentBefore) });
    return rec.get(name)!;
  };

  const runsOf = async (name: string): Promise<HostRun[]> => t.lab.store.listRuns({ hostId: hosts.get(name)!.id });
  /** The registry's record of the (only) upgrade run of a host. */
  const upgradeRun = async (name: string): Promise<HostRun> => {
    const runs = (await runsOf(name)).filter((r) => r.kind === 'upgrade');
    expect(runs).toHaveLength(1);
    return runs[0]!;
  };

  beforeAll(async () => {
    t = await startTestLab();
    const spec = (name: string, version: string, faults?: LabHostSpec['faults']): LabHostSpec => ({
      id: id(name),
      tier: 'staging',
      mode,
      version,
      ...(faults ? { faults } : {}),
    });
    const made = await t.addHosts(`faults-${m}`, [
      spec('offline', RESTORED_FROM),
      spec('undeliverable', RESTORED_FROM),
      spec('pull', RESTORED_FROM, { pullFails: true }),
      spec('sync', RESTORED_FROM, { schemaSyncFails: true }),
      spec('destructive', '1.5.0'),
      spec('unhealthy', RESTORED_FROM, { unhealthy: TARGET }),
      spec('flapping', RESTORED_FROM, { flapping: TARGET }),
      spec('slow', RESTORED_FROM, { slowStartSeconds: 3 }),
      spec('disk', RESTORED_FROM),
      spec('restorefail', RESTORED_FROM, { schemaSyncFails: true, restoreFails: true }),
      spec('mixed', RESTORED_FROM, { mixedVersions: true }),
      spec('license', RESTORED_FROM, { licenseExpired: true }),
      spec('throttled', RESTORED_FROM),
      spec('consent', '1.5.0'),
    ]);
    for (const h of made) hosts.set(h.id.slice(0, -2), h);

    // Throttling is per function, not per execution: the throttled run starts
    // alone, and the others only once its three throttled invocations are spent,
    // so every one of them belongs to its execution.
    const sendStep = Object.values(t.lab.template.functions).find((f) => f.logicalId.startsWith('TasksSendStep'));
    if (!sendStep) throw new Error('no send-step function in the template');
    const throttledCount = () => t.lab.lambda.stats(sendStep.functionName).throttled;
    seen.throttledBefore = throttledCount();
    t.lab.lambda.throttle(sendStep.functionName, 3);
    const throttled = run('throttled', TARGET);
    for (let i = 0; i < 600 && throttledCount() - seen.throttledBefore < 3; i++) await sleep(50);

    t.lab.ssm.setOnline(hosts.get('offline')!.instanceId, false);
    t.lab.ssm.setAgentState(hosts.get('undeliverable')!.instanceId, 'undeliverable');
    const destructive = hosts.get('destructive')!;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        seen.destructiveSchemas.add(await dataSchemaVersion(destructive.root).catch(() => 'unreadable'));
        await sleep(150);
      }
    })();

    await Promise.all([
      run('offline', TARGET),
      run('undeliverable', TARGET),
      run('pull', TARGET),
      run('sync', TARGET),
      run('destructive', '1.6.1', { allowDestructive: true }).finally(() => {
        watching = false;
      }),
      run('unhealthy', TARGET),
      run('flapping', TARGET),
      run('slow', TARGET),
      (async () => {
        // a good upgrade first, so there is a verified backup the failing one must not touch
        const good = await upgrade(id('disk'), '1.4.1');
        if (good.status !== 'SUCCEEDED') throw new Error(`disk host: first upgrade ${good.status} ${good.error} ${good.cause}`);
        seen.diskPreviousBackup = (await t.lab.store.listBackups(id('disk')))[0] ?? null;
        await setFaults(hosts.get('disk')!.root, { diskFullDuringBackup: true });
        await run('disk', TARGET);
      })(),
      (async () => {
        await run('restorefail', TARGET);
        seen.quarantinedRetry = await upgrade(id('restorefail'), TARGET);
      })(),
      run('mixed', TARGET),
      run('license', TARGET),
      (async () => {
        // the registry learns a host's version from its first run (here a no-op verification) or a
        // compliance check; known, a destructive jump without consent is refused before any command
        const known = await upgrade(id('consent'), '1.5.0');
        if (known.status !== 'SUCCEEDED') throw new Error(`consent host: verification ${known.status} ${known.error} ${known.cause}`);
        await run('consent', '1.6.0');
      })(),
      throttled,
    ]);
    seen.throttledAfter = throttledCount();
    await watcher;
  }, 900_000);

  afterAll(async () => {
    await t?.close();
  });

  /** The execution ended as expected; on a surprise the message carries its cause. */
  const expectExecution = (r: Recorded, status: string, error: string | null) => {
    expect({ status: r.result.status, error: r.result.error }, `cause: ${r.result.cause}`).toEqual({ status, error });
  };
  /** Host back on its old version, healthy, with exactly its old rows; the registry says `registered` (default: that version). */
  const expectIntact = async (r: Recorded, version: string, registered: string | null = version) => {
    expect(Object.values(runningVersions(r.host.root))).toEqual([version, version, version]);
    expect(await healthStatus(r.host)).toBe(200);
    expect(await dataChecksums(r.host.root)).toEqual(r.before.checksums);
    expect(await dataSchemaVersion(r.host.root)).toBe(r.before.schema);
    expect((await t.lab.store.getHost(r.host.id)).observedVersion).toBe(registered);
  };
  /** Not even restarted: same app process, same containers, same files. */
  const expectUntouched = (r: Recorded) => {
    expect(readApp(r.host.root)).toEqual(r.before.app);
    expect(readContainers(r.host.root)).toEqual(r.before.containers);
    expect(readFileSync(join(r.host.composeDir, 'docker-compose.yml'), 'utf8')).toBe(r.before.compose);
    expect(readFileSync(join(r.host.composeDir, 'semaphor.env'), 'utf8')).toBe(r.before.env);
  };
  /** The restore branch ran: a HostRollback run under the upgrade, verified by a health check. */
  const expectRestoredBy = async (name: string, r: Recorded) => {
    const rollbacks = (await runsOf(name)).filter((x) => x.kind === 'rollback');
    expect(rollbacks).toHaveLength(1);
    expect(rollbacks[0]).toMatchObject({ status: 'succeeded', targetVersion: r.before.schema });
    const restoreAt = r.documents.indexOf('Fleetwave-Restore');
    expect(restoreAt).toBeGreaterThan(r.documents.indexOf('Fleetwave-Restart'));
    expect(r.documents.slice(restoreAt)).toEqual(['Fleetwave-Restore', 'Fleetwave-HealthCheck']);
    const [backup] = await t.lab.store.listBackups(r.host.id);
    expect(backup).toMatchObject({ status: 'verified', version: r.before.schema, mode });
    expect((await t.lab.store.getHost(r.host.id)).locked).toBe(false);
    expect(await t.lab.store.getLease(r.host.id)).toBeNull();
  };

  describe(`HostUpgrade faults, ${mode} database`, () => {
    it.each([
      ['offline', 'an offline agent'],
      ['undeliverable', 'an agent that cannot take the command'],
    ])('%s: %s is reported unreachable, nothing changed, nothing restored', async (name) => {
      const r = rec.get(name)!;
      expectExecution(r, 'FAILED', 'UpgradeFailed');
      expect(await upgradeRun(name)).toMatchObject({ status: 'failed', outcome: 'unreachable', failedStep: 'preflight' });
      expect(r.documents).toEqual(['Fleetwave-Preflight']);
      expect((await runsOf(name)).filter((x) => x.kind === 'rollback')).toEqual([]);
      expect(await t.lab.store.listBackups(r.host.id)).toEqual([]);
      expect(dockerCalls(r.host).length).toBe(r.before.dockerCalls); // no script ran on the host
      expectUntouched(r);
      // nothing read the host, so the registry still does not know its version (a new host's is unknown)
      await expectIntact(r, RESTORED_FROM, null);
    });

    it('an image that cannot be pulled: pull-failed before any backup, compose file byte-identical, nothing stopped or restarted', async () => {
      const r = rec.get('pull')!;
      expectExecution(r, 'FAILED', 'UpgradeFailed');
      expect(await upgradeRun('pull')).toMatchObject({ outcome: 'pull-failed', failedStep: 'pull-images' });
      // pulled first: the backup is taken only once the images are there, as close to the restart as it can be
      expect(r.documents).toEqual(['Fleetwave-Preflight', 'Fleetwave-PullImages']);
      expectUntouched(r);
      expect(composeCallsSince(r.host, r.before).filter((c) => ['up', 'down', 'stop', 'start', 'restart'].includes(c))).toEqual([]);
      expect(await t.lab.store.listBackups(r.host.id)).toEqual([]);
      await expectIntact(r, RESTORED_FROM);
    });

    it('schema sync fails: restored from the backup, old version healthy, every row back', async () => {
      const r = rec.get('sync')!;
      expectExecution(r, 'FAILED', 'UpgradeRestored');
      expect(await upgradeRun('sync')).toMatchObject({ outcome: 'restored', failedStep: 'watch-schema' });
      await expectRestoredBy('sync', r);
      await expectIntact(r, RESTORED_FROM);
    });

    it('a destructive upgrade whose later sync fails: the dropped column comes back with its rows', async () => {
      const r = rec.get('destructive')!;
      expectExecution(r, 'FAILED', 'UpgradeRestored');
      expect(await upgradeRun('destructive')).toMatchObject({ outcome: 'restored', failedStep: 'watch-schema' });
      // 1.6.0's migration (drops dashboards.legacy_notes) really ran before 1.6.1's failed
      expect(seen.destructiveSchemas).toContain('1.6.0');
      await expectRestoredBy('destructive', r);
      await expectIntact(r, '1.5.0');
    });

    it('an unhealthy new version: restored after the health check', async () => {
      const r = rec.get('unhealthy')!;
      expectExecution(r, 'FAILED', 'UpgradeRestored');
      const upgrade = await upgradeRun('unhealthy');
      expect(upgrade).toMatchObject({ outcome: 'restored', failedStep: 'health-check' });
      const health = (await t.lab.store.listSteps(upgrade.id)).find((s) => s.step === 'health-check');
      expect(health).toMatchObject({ status: 'Failed', error: 'unhealthy', result: { healthy: false, passes: 0 } });
      await expectRestoredBy('unhealthy', r);
      await expectIntact(r, RESTORED_FROM);
    });

    it('flapping health is not a success: N passes in a row are required, so it is restored', async () => {
      const r = rec.get('flapping')!;
      expectExecution(r, 'FAILED', 'UpgradeRestored');
      const upgrade = await upgradeRun('flapping');
      expect(upgrade).toMatchObject({ outcome: 'restored', failedStep: 'health-check' });
      const health = (await t.lab.store.listSteps(upgrade.id)).find((s) => s.step === 'health-check');
      // it did answer 200 (so not plainly down), never HEALTH.passes times in a row
      expect(health).toMatchObject({ status: 'Failed', error: 'unhealthy', result: { healthy: false, passes: 1 } });
      await expectRestoredBy('flapping', r);
      await expectIntact(r, RESTORED_FROM);
    });

    it('a slow start still succeeds', async () => {
      const r = rec.get('slow')!;
      expectExecution(r, 'SUCCEEDED', null);
      expect(r.result.output).toMatchObject({ outcome: 'succeeded', version: TARGET });
      expect(await upgradeRun('slow')).toMatchObject({ status: 'succeeded', outcome: 'succeeded', failedStep: null });
      expect(Object.values(runningVersions(r.host.root))).toEqual([TARGET, TARGET, TARGET]);
      expect(await healthStatus(r.host)).toBe(200);
      expect(r.documents).not.toContain('Fleetwave-Restore');
      // the fault held the new version's start for its 3 s before schema sync, and watch-schema waited it out
      const log = appLog(r.host);
      const banner = log.map((l) => l.text).lastIndexOf(`Semaphor v${TARGET} starting`);
      expect(banner).toBeGreaterThanOrEqual(0);
      const sync = log.slice(banner).find((l) => l.text.startsWith('Schema sync:'));
      expect(sync!.at - log[banner]!.at).toBeGreaterThanOrEqual(3000);
      expect(log.slice(banner).map((l) => l.text)).toContain('Schema sync complete');
      // 1.5.0 only adds users.last_login: every row keeps every value it had
      const kept = keptRows(r.before.tables, await dataTables(r.host.root));
      expect(kept.lostColumns).toEqual([]);
      expect(kept.before).toMatchObject({ dashboards: { rows: 6 }, users: { rows: 4 } });
      expect(kept.after).toEqual(kept.before);
    });

    it('disk full during backup: backup-failed, no data object, stopped before any pin, the previous backup untouched', async () => {
      const r = rec.get('disk')!;
      const previous = seen.diskPreviousBackup!;
      // taken before 1.4.0 → 1.4.1, of the 1.4.0 data
      expect(previous).toMatchObject({ status: 'verified', version: RESTORED_FROM });
      expectExecution(r, 'FAILED', 'UpgradeFailed');
      const upgrades = (await runsOf('disk')).filter((x) => x.kind === 'upgrade' && x.targetVersion === TARGET);
      expect(upgrades).toHaveLength(1);
      expect(upgrades[0]).toMatchObject({ outcome: 'backup-failed', failedStep: 'backup' });
      expect(r.documents).toEqual(['Fleetwave-Preflight', 'Fleetwave-PullImages', 'Fleetwave-Backup']);
      // the registry still holds exactly the earlier backup, as it was
      expect(await t.lab.store.listBackups(r.host.id)).toEqual([previous]);
      const s3 = labS3Client(t.lab.s3.endpoint);
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: t.lab.backupBucket, Prefix: `backups/${r.host.id}/` }));
      const dataKeys = (listed.Contents ?? []).map((o) => o.Key!).filter((k) => /\/data\.[a-z.]+$/.test(k));
      expect(dataKeys).toEqual([previous.dataKey]);
      const previousObject = (listed.Contents ?? []).find((o) => o.Key === previous.dataKey);
      expect(previousObject?.Size).toBe(previous.dataBytes);
      // the failed backup's multipart upload was aborted, not left open with its parts
      const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: t.lab.backupBucket, Prefix: `backups/${r.host.id}/` }));
      expect(open.Uploads ?? []).toEqual([]);
      s3.destroy();
      // services were started again after the failed backup; nothing else changed
      expect(readFileSync(join(r.host.composeDir, 'docker-compose.yml'), 'utf8')).toBe(r.before.compose);
      expect(readContainers(r.host.root)).toEqual(r.before.containers);
      await expectIntact(r, '1.4.1');
    });

    it('a restore that fails too: RollbackFailed, host quarantined, alert raised, never reported as success', async () => {
      const r = rec.get('restorefail')!;
      expectExecution(r, 'FAILED', 'RollbackFailed');
      const runs = await runsOf('restorefail');
      const upgrades = runs.filter((x) => x.kind === 'upgrade');
      expect(upgrades).toHaveLength(1);
      // the upgrade failed at schema sync, then its restore failed too
      expect(upgrades[0]).toMatchObject({ status: 'failed', outcome: 'rollback-failed', failedStep: 'watch-schema' });
      expect(runs.filter((x) => x.kind === 'rollback')).toMatchObject([{ status: 'failed', outcome: 'rollback-failed', failedStep: 'restore' }]);
      const host = await t.lab.store.getHost(r.host.id);
      expect(host.locked).toBe(true);
      expect(host.lockedReason).toContain('rollback failed');
      // quarantined: a new upgrade is refused before anything is sent
      expect(seen.quarantinedRetry).toMatchObject({ status: 'FAILED', error: 'HostQuarantinedError' });
      expect(sentTo(r.host).slice(-1)).toEqual(['Fleetwave-Restore']);
      // one failure, one alert: raised by the upgrade run (the restore branch only quarantines)
      const alerts = t.lab.sns.published().filter((a) => a.subject?.includes(r.host.id));
      expect(alerts).toHaveLength(1);
      expect(JSON.parse(alerts[0]!.message)).toMatchObject({ event: 'ROLLBACK_FAILED', hostId: r.host.id, runId: upgrades[0]!.id });
      // no other host of the file raised one
      expect(t.lab.sns.published()).toHaveLength(1);
      // the data restore broke midway: services are left stopped, not running on half-restored data
      expect(Object.values(runningVersions(r.host.root))).toEqual([null, null, null]);
    });

    it('mixed service versions: preflight-failed, nothing changed', async () => {
      const r = rec.get('mixed')!;
      expectExecution(r, 'FAILED', 'UpgradeFailed');
      expect(await upgradeRun('mixed')).toMatchObject({ outcome: 'preflight-failed', failedStep: 'preflight' });
      expect(r.documents).toEqual(['Fleetwave-Preflight']);
      expect(await t.lab.store.listBackups(r.host.id)).toEqual([]);
      expectUntouched(r);
      expect(runningVersions(r.host.root)['data-service']).not.toBe(RESTORED_FROM);
      expect(await dataChecksums(r.host.root)).toEqual(r.before.checksums);
      expect(await healthStatus(r.host)).toBe(200);
    });

    it('an expired license is classified license-expired and not restored', async () => {
      const r = rec.get('license')!;
      expectExecution(r, 'FAILED', 'UpgradeFailed');
      expect(await upgradeRun('license')).toMatchObject({ outcome: 'license-expired', failedStep: 'watch-schema' });
      expect(r.documents).not.toContain('Fleetwave-Restore');
      expect((await runsOf('license')).filter((x) => x.kind === 'rollback')).toEqual([]);
      // the operator must renew the key: the app refuses to run on any version until then
      expect(Object.values(runningVersions(r.host.root))).toEqual([null, null, null]);
      expect(await healthStatus(r.host)).toBe(0);
      expect(await t.lab.store.listBackups(r.host.id)).toMatchObject([{ status: 'verified', version: RESTORED_FROM }]);
      // the data was never migrated: the app exits before schema sync
      expect(await dataChecksums(r.host.root)).toEqual(r.before.checksums);
    });

    it('a throttled Lambda: the execution still succeeds after retries', async () => {
      const r = rec.get('throttled')!;
      expect(seen.throttledAfter - seen.throttledBefore).toBe(3);
      expect(await upgradeRun('throttled')).toMatchObject({ status: 'succeeded', outcome: 'succeeded', failedStep: null });
      expectExecution(r, 'SUCCEEDED', null);
      expect(r.result.output).toMatchObject({ outcome: 'succeeded', version: TARGET });
      const history = await t.sfn.send(new GetExecutionHistoryCommand({ executionArn: r.result.executionArn, maxResults: 1000 }));
      const throttled = (history.events ?? []).filter(
        (e) => (e.taskFailedEventDetails?.error ?? e.lambdaFunctionFailedEventDetails?.error) === 'Lambda.TooManyRequestsException',
      );
      expect(throttled).toHaveLength(3);
      // retried, not resent: one command per step
      expect(r.documents).toEqual([
        'Fleetwave-Preflight',
        'Fleetwave-PullImages',
        'Fleetwave-Backup',
        'Fleetwave-PinTags',
        'Fleetwave-Restart',
        'Fleetwave-WatchSchema',
        'Fleetwave-HealthCheck',
      ]);
      expect(Object.values(runningVersions(r.host.root))).toEqual([TARGET, TARGET, TARGET]);
      expect(await healthStatus(r.host)).toBe(200);
    });

    it('a destructive release without consent is refused before any SSM command', async () => {
      const r = rec.get('consent')!;
      expectExecution(r, 'FAILED', 'DestructiveConsentRequiredError');
      expect(r.result.cause).toContain('allowDestructive');
      expect(r.documents).toEqual([]);
      expect((await runsOf('consent')).map((x) => `${x.targetVersion} ${x.outcome}`)).toEqual(['1.5.0 noop']);
      const audit = await t.lab.store.listAudit({ hostId: r.host.id });
      expect(audit.map((a) => a.action)).toContain('upgrade.refused');
      expectUntouched(r);
      await expectIntact(r, '1.5.0');
    });
  });
}
