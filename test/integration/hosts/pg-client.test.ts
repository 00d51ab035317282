/**
 * Issue #12 item 6 (second half): pg_dump and pg_restore must be at least the
 * server's major version. The client is chosen from the server's version: the
 * host's programs when they are new enough, else the postgres image of the
 * server's major pinned by digest; refused, named, when nothing fits. The lab
 * simulates the server's version and the host's client programs (pg-wrap.ts):
 * its pg_dump refuses a newer server as the real one does.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { HostStep } from '../../../core/models';
import { createHost, reserveHostPort, dataChecksums, destroyHost, setHostPostgres, type LabHost } from '../../../lab/hosts';
import { paths } from '../../../lab/hosts/state';
import { completeBackup, dockerRuns, prepareBackup, restoreFrom, runStep, startS3, type TestS3 } from './support';

const clearDockerLog = (root: string) => writeFileSync(join(paths(root).state, 'docker-calls.log'), '');
const PG17 = /^postgres:17@sha256:[a-f0-9]{64}$/;

describe('the PostgreSQL client is chosen from the server version', { timeout: 180_000 }, () => {
  let s3: TestS3;
  let host: LabHost;
  let base: string;
  let adminUrl: string;
  const step = (s: HostStep, params: Record<string, string | string[]> = {}) => runStep(s, host.root, { ComposeDir: host.composeDir, ...params });

  beforeAll(async () => {
    adminUrl = inject('databaseUrl');
    base = mkdtempSync(join(tmpdir(), 'fw-pgclient-'));
    s3 = await startS3();
    host = await createHost({
      root: join(base, 'h'),
      hostId: 'h-pg17',
      mode: 'external',
      version: '1.4.0',
      port: await reserveHostPort(),
      adminDatabaseUrl: adminUrl,
      postgres: { serverVersion: '17.2' },
    });
  });
  afterAll(async () => {
    if (host) await destroyHost(host, adminUrl);
    await s3?.close();
    rmSync(base, { recursive: true, force: true });
  });

  it('a server of major 17 with the host on 15: backup and restore use the postgres:17 image, pinned by digest', async () => {
    const pre = await step('preflight', { TargetVersion: '1.5.0', MinFreeMb: '1' });
    expect(pre.result).toMatchObject({ ok: true, postgres: { serverVersionNum: 170002 } });
    expect(pre.result.postgres.client).toMatch(PG17);

    clearDockerLog(host.root);
    const checksums = await dataChecksums(host.root);
    const target = await prepareBackup(s3, 'pg17', 2, 5, 'pgdump');
    const b = await step('backup', target.params);
    expect(b.result).toMatchObject({ ok: true, data: { format: 'pgdump' } });
    const runs = dockerRuns(host.root);
    expect(runs.map((r) => r.command[0])).toEqual(expect.arrayContaining(['pg_dump', 'pg_restore']));
    for (const r of runs) expect(r.image).toMatch(PG17);
    await completeBackup(s3, target, b.result.data.parts);

    clearDockerLog(host.root);
    const r = await step('restore', {
      Mode: 'external',
      ...restoreFrom(target),
      DataSha256: b.result.data.sha256,
      ConfigSha256: b.result.config.sha256,
    });
    expect(r.result).toMatchObject({ ok: true, restored: true });
    expect(dockerRuns(host.root).map((x) => x.command[0])).toEqual(expect.arrayContaining(['pg_restore', 'psql']));
    for (const x of dockerRuns(host.root)) expect(x.image).toMatch(PG17);
    expect(await dataChecksums(host.root)).toEqual(checksums);
  });

  it('a host without the client programs asks the server its version through the newest pinned image', async () => {
    await setHostPostgres(host.root, { serverVersion: '17.2', client: 'absent' });
    clearDockerLog(host.root);
    const pre = await step('preflight', { TargetVersion: '1.5.0', MinFreeMb: '1' });
    expect(pre.result).toMatchObject({ ok: true });
    expect(pre.result.postgres.client).toMatch(PG17);
    const runs = dockerRuns(host.root);
    expect(runs[0]).toMatchObject({ image: expect.stringMatching(/^postgres:18[.\d]*@sha256:/), command: expect.arrayContaining(['psql']) });
  });

  it('a server newer than every client fleetwave knows is refused, named, before anything is backed up', async () => {
    await setHostPostgres(host.root, { serverVersion: '19.1' });
    const pre = await step('preflight', { TargetVersion: '1.5.0', MinFreeMb: '1' });
    expect(pre.code).toBe(1);
    expect(pre.result).toMatchObject({ ok: false, error: 'pg-client-unavailable' });
    expect(pre.result.message).toContain('the PostgreSQL server is version 19; the host\'s pg_dump is 15');
    expect(pre.result.message).toContain('install the PostgreSQL 19 client programs');

    const target = await prepareBackup(s3, 'pg19', 1, 5, 'pgdump');
    const b = await step('backup', target.params);
    expect(b.result).toMatchObject({ ok: false, error: 'backup-failed', message: expect.stringContaining('server is version 19') });
    await setHostPostgres(host.root, {});
  });
});
