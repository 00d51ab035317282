/**
 * The host-step behaviours, run by real bash against a simulated host in one
 * database mode. Tests in one file run in order and share one host, like the
 * steps of an upgrade share one customer host; each leaves it running.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DatabaseMode, HostStep } from '../../../core/models';
import { createHost, reserveHostPort, dataChecksums, dataSchemaVersion, destroyHost, runningVersions, setFaults, waitHealthy, type LabHost } from '../../../lab/hosts';
import { readApp, readContainers } from '../../../lab/hosts/state';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { BUCKET, completeBackup, dockerRuns, health, objectSha256, prepareBackup, restoreFrom, runStep, startS3, type BackupTarget, type TestS3 } from './support';

/** The image of each `docker run` the host's scripts made. */
const dockerRunImages = (root: string): string[] => dockerRuns(root).map((r) => r.image);

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const ALL = (v: string | null) => ({ 'api-service': v, 'data-service': v, 'data-service-sidecar': v });

export function hostStepSuite(mode: DatabaseMode): void {
  describe(`host steps on an ${mode} host`, () => {
    let s3: TestS3;
    let host: LabHost;
    let base: string;
    let adminUrl: string;
    /** The backup of the 1.4.0 host taken in the upgrade test, reused by later restores. */
    let backup: { target: BackupTarget; dataSha: string; configSha: string; checksums: Record<string, string>; compose: string } | undefined;

    const step = (s: HostStep, params: Record<string, string | string[]> = {}) => runStep(s, host.root, { ComposeDir: host.composeDir, ...params });
    const composeFile = () => join(host.composeDir, 'docker-compose.yml');
    const healthCheck = (version: string, passes = 2) =>
      step('health-check', { HealthUrl: host.healthUrl, Version: version, Passes: String(passes), IntervalSeconds: '1', TimeoutSeconds: '20' });
    const restoreParams = async () => ({
      Mode: mode,
      ...restoreFrom(backup!.target),
      DataSha256: backup!.dataSha,
      ConfigSha256: backup!.configSha,
    });

    beforeAll(async () => {
      adminUrl = inject('databaseUrl');
      base = mkdtempSync(join(tmpdir(), `fw-hosts-${mode}-`));
      s3 = await startS3();
      host = await createHost({ root: join(base, 'h1'), hostId: `h-${mode}`, mode, version: '1.4.0', port: await reserveHostPort(), adminDatabaseUrl: adminUrl });
    });
    afterEach(async () => {
      await setFaults(host.root, {});
    });
    afterAll(async () => {
      if (host) await destroyHost(host, adminUrl);
      await s3?.close();
      rmSync(base, { recursive: true, force: true });
    });

    it('preflight reports mode, compose flavour, and the version all three services run', async () => {
      const { code, result } = await step('preflight', { TargetVersion: '1.6.0' });
      expect(result).toMatchObject({ step: 'preflight', ok: true, mode, compose: 'docker compose', currentVersion: '1.4.0', mixedVersions: false, alreadyOnTarget: false });
      expect(code).toBe(0);
      for (const s of Object.values(result.services) as any[]) expect(s).toMatchObject({ pinnedTag: '1.4.0', runningTag: '1.4.0', running: true });
      expect(result.freeBytes).toBeGreaterThan(0);
      if (mode === 'embedded') expect(result.dataBytesEstimate).toBeGreaterThan(0);
    });

    it('preflight refuses a host whose services run different versions', async () => {
      await setFaults(host.root, { mixedVersions: true });
      const { code, result } = await step('preflight', { TargetVersion: '1.6.0' });
      expect(code).toBe(1);
      expect(result).toMatchObject({ ok: false, error: 'mixed-versions', mixedVersions: true, currentVersion: null });
      expect(result.services['data-service'].runningTag).not.toBe('1.4.0');
    });

    it('a backup that fills the disk fails with backup-failed and leaves the services running', async () => {
      const target = await prepareBackup(s3, `${mode}-diskfull`, 2);
      await setFaults(host.root, { diskFullDuringBackup: true });
      const { code, result, stdout } = await step('backup', target.params);
      expect(code).toBe(1);
      expect(result).toMatchObject({ step: 'backup', ok: false, error: 'backup-failed' });
      expect(result.message).toMatch(/No space left on device/);
      expect(stdout.trimEnd().split('\n').filter((l) => l.startsWith('{"step"'))).toHaveLength(1);
      expect(runningVersions(host.root)).toEqual(ALL('1.4.0'));
      await waitHealthy(host.healthUrl, 10_000);
    });

    it('a failed image pull leaves the compose file byte-identical and nothing restarted', async () => {
      const before = sha(composeFile());
      await setFaults(host.root, { pullFails: 'data-service' });
      const { code, result } = await step('pull-images', { Version: '1.5.0' });
      expect(code).toBe(1);
      expect(result).toMatchObject({ ok: false, error: 'pull-failed' });
      expect(result.message).toContain('semaphor/data-service:1.5.0');
      expect(sha(composeFile())).toBe(before);
      expect(runningVersions(host.root)).toEqual(ALL('1.4.0'));
    });

    it('flapping health fails N consecutive passes but passes a single one', async () => {
      await setFaults(host.root, { flapping: true });
      const strict = await step('health-check', { HealthUrl: host.healthUrl, Version: '1.4.0', Passes: '2', IntervalSeconds: '1', TimeoutSeconds: '3' });
      expect(strict.result).toMatchObject({ ok: false, error: 'unhealthy', healthy: false, passes: 1 });
      const lenient = await step('health-check', { HealthUrl: host.healthUrl, Version: '1.4.0', Passes: '1', IntervalSeconds: '1', TimeoutSeconds: '4' });
      expect(lenient.result).toMatchObject({ ok: true, healthy: true, passes: 1, versions: ALL('1.4.0') });
    });

    it('an upgrade to the destructive 1.6.0 drops the column; a restore brings back 1.4.0 and every row', async () => {
      const checksums = await dataChecksums(host.root);
      const originalCompose = readFileSync(composeFile(), 'utf8');

      // backup -> complete the multipart upload with the reported ETags -> same bytes in S3
      const target = await prepareBackup(s3, `${mode}-upgrade`, 2, 5, mode === 'embedded' ? 'tar.gz' : 'pgdump');
      const b = await step('backup', target.params);
      expect(b.result).toMatchObject({ step: 'backup', ok: true, mode, data: { format: mode === 'embedded' ? 'tar.gz' : 'pgdump' } });
      expect(b.result.data.entries).toBeGreaterThan(0);
      await completeBackup(s3, target, b.result.data.parts);
      expect(await objectSha256(s3, target.dataKey)).toEqual({ sha256: b.result.data.sha256, bytes: b.result.data.bytes });
      expect((await objectSha256(s3, target.configKey)).sha256).toBe(b.result.config.sha256);
      expect(b.stdout + b.stderr).not.toMatch(/postgres:\/\/[^*\s]*:[^*@\s]+@/);
      backup = { target, dataSha: b.result.data.sha256, configSha: b.result.config.sha256, checksums, compose: originalCompose };
      // the config object is written once: the same conditional create again replaces nothing
      await expect(
        s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: target.configKey, Body: 'x', IfNoneMatch: '*' })),
      ).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
      expect((await objectSha256(s3, target.configKey)).sha256).toBe(b.result.config.sha256);
      // every helper container the backup ran, by digest
      const images = dockerRunImages(host.root);
      if (mode === 'embedded') expect(images.length).toBeGreaterThan(0);
      for (const image of images) expect(image).toMatch(/^[a-z0-9./-]+:[\w.-]+@sha256:[a-f0-9]{64}$/);
      // embedded: the services stay stopped from the backup to the restart (no write after the
      // backup can be lost by a restore); external: they run again at once
      expect(b.result.servicesStopped ?? false).toBe(mode === 'embedded');
      if (mode === 'external') await waitHealthy(host.healthUrl, 10_000);

      expect((await step('pull-images', { Version: '1.6.0' })).result).toMatchObject({ ok: true });
      const pin = await step('pin-tags', { Version: '1.6.0' });
      expect(pin.result).toMatchObject({ ok: true, changed: true, linesChanged: 3, previousTags: ALL('1.4.0') });
      const after = readFileSync(composeFile(), 'utf8').split('\n');
      const changed = originalCompose.split('\n').filter((line, i) => line !== after[i]);
      expect(changed).toHaveLength(3);
      expect(changed.every((l) => /^\s+image: semaphor\/[a-z-]+:1\.4\.0$/.test(l))).toBe(true);
      const pinnedSha = sha(composeFile());
      expect((await step('pin-tags', { Version: '1.6.0' })).result).toMatchObject({ ok: true, changed: false });
      expect(sha(composeFile())).toBe(pinnedSha);

      expect((await step('restart')).result).toMatchObject({ ok: true, version: '1.6.0' });
      expect((await step('watch-schema', { PollSeconds: '1', TimeoutSeconds: '30' })).result).toMatchObject({ ok: true, synced: true });
      expect((await healthCheck('1.6.0')).result).toMatchObject({ ok: true, versions: ALL('1.6.0'), logVersion: '1.6.0' });
      expect(await dataSchemaVersion(host.root)).toBe('1.6.0');
      const upgraded = await dataChecksums(host.root);
      expect(upgraded.dashboards).not.toBe(checksums.dashboards); // legacy_notes is gone

      const r = await step('restore', await restoreParams());
      expect(r.result).toMatchObject({ step: 'restore', ok: true, restored: true, mode, version: '1.4.0' });
      expect((await healthCheck('1.4.0')).result).toMatchObject({ ok: true, versions: ALL('1.4.0') });
      expect(await dataChecksums(host.root)).toEqual(checksums);
      expect(readFileSync(composeFile(), 'utf8')).toBe(originalCompose);
    });

    it('a failing schema sync is seen by watch-schema, changes no data, and the restore recovers', async () => {
      expect(backup).toBeDefined();
      await setFaults(host.root, { schemaSyncFails: true });
      expect((await step('pull-images', { Version: '1.5.0' })).result.ok).toBe(true);
      expect((await step('pin-tags', { Version: '1.5.0' })).result.changed).toBe(true);
      expect((await step('restart')).result.ok).toBe(true);
      const w = await step('watch-schema', { PollSeconds: '1', TimeoutSeconds: '30' });
      expect(w.code).toBe(1);
      expect(w.result).toMatchObject({ ok: false, error: 'schema-sync-failed', synced: false });
      expect(runningVersions(host.root)).toEqual(ALL(null)); // the container exited
      expect(await dataChecksums(host.root)).toEqual(backup!.checksums);

      const r = await step('restore', await restoreParams());
      expect(r.result).toMatchObject({ ok: true, version: '1.4.0' });
      expect((await healthCheck('1.4.0')).result.ok).toBe(true);
    });

    /** What a refused or broken restore may not change unnoticed: files, data, the app process and what runs. */
    const hostState = async () => ({
      compose: readFileSync(composeFile(), 'utf8'),
      env: readFileSync(join(host.composeDir, 'semaphor.env'), 'utf8'),
      checksums: await dataChecksums(host.root),
      schema: await dataSchemaVersion(host.root),
      app: readApp(host.root),
      containers: readContainers(host.root),
      versions: runningVersions(host.root),
    });

    it('a restore from a backup with the wrong checksum touches nothing', async () => {
      // the host runs 1.5.0 on data migrated past the backup, so a restore would show
      expect((await step('pull-images', { Version: '1.5.0' })).result.ok).toBe(true);
      expect((await step('pin-tags', { Version: '1.5.0' })).result.changed).toBe(true);
      expect((await step('restart')).result.ok).toBe(true);
      expect((await step('watch-schema', { PollSeconds: '1', TimeoutSeconds: '30' })).result).toMatchObject({ ok: true, synced: true });
      const before = await hostState();
      expect(before.checksums).not.toEqual(backup!.checksums);

      const r = await step('restore', { ...(await restoreParams()), DataSha256: 'a'.repeat(64) });

      expect(r.result).toMatchObject({ ok: false, error: 'verify-failed' });
      expect(await hostState()).toEqual(before);
      await waitHealthy(host.healthUrl, 10_000);
    });

    it('a restore whose data cannot be applied reports restore-failed, never success, and puts the host back as it was', async () => {
      const before = await hostState();
      expect(Object.values(before.versions).every((v) => v !== null)).toBe(true);
      await setFaults(host.root, { restoreFails: true });

      const r = await step('restore', await restoreParams());

      expect(r.code).toBe(1);
      expect(r.result).toMatchObject({ step: 'restore', ok: false, error: 'restore-failed' });
      expect(r.result.message).toContain('put back as it was');
      // issue #12 item 2: nothing is replaced until the new data is complete and checked, and a
      // failure leaves the config, the data and the running services as they were before
      const after = await hostState();
      expect({ compose: after.compose, env: after.env, checksums: after.checksums, schema: after.schema, versions: after.versions }).toEqual({
        compose: before.compose,
        env: before.env,
        checksums: before.checksums,
        schema: before.schema,
        versions: before.versions,
      });
      await waitHealthy(host.healthUrl, 10_000);
    });

  });
}
