/**
 * Issue #12 item 7: after a rollback an external database holds exactly the
 * backed-up schema and rows. `pg_restore --clean` drops only what is in the
 * dump, so a table the newer release created survived the restore, and the
 * next upgrade to that release failed at schema sync ("already exists").
 * Real bash, pg_dump/pg_restore against a real PostgreSQL database.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { HostStep } from '../../../core/models';
import { createHost, reserveHostPort, dataChecksums, destroyHost, waitHealthy, type LabHost } from '../../../lab/hosts';
import { paths, readEnvFile } from '../../../lab/hosts/state';
import { completeBackup, prepareBackup, restoreFrom, runStep, startS3, type TestS3 } from './support';

describe('restoring an external database after a release added a table', () => {
  let s3: TestS3;
  let host: LabHost;
  let base: string;
  let adminUrl: string;
  const step = (s: HostStep, params: Record<string, string | string[]> = {}) => runStep(s, host.root, { ComposeDir: host.composeDir, ...params });
  const upgradeTo = async (version: string) => {
    for (const [s, p] of [['pull-images', { Version: version }], ['pin-tags', { Version: version }], ['restart', {}], ['watch-schema', { PollSeconds: '1', TimeoutSeconds: '30' }]] as const) {
      const r = await step(s, p);
      if (!r.result.ok) return r.result;
    }
    await waitHealthy(host.healthUrl, 10_000);
    return { ok: true };
  };
  async function tables(): Promise<string[]> {
    const url = readEnvFile(join(paths(host.root).composeDir, 'semaphor.env')).DATABASE_URL!;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`);
      return rows.map((r) => r.table_name as string);
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    adminUrl = inject('databaseUrl');
    base = mkdtempSync(join(tmpdir(), 'fw-ext-restore-'));
    s3 = await startS3();
    host = await createHost({ root: join(base, 'h'), hostId: 'h-ext-restore', mode: 'external', version: '1.6.0', port: await reserveHostPort(), adminDatabaseUrl: adminUrl });
  });
  afterAll(async () => {
    if (host) await destroyHost(host, adminUrl);
    await s3?.close();
    rmSync(base, { recursive: true, force: true });
  });

  it('drops what the newer release created, so the same upgrade can run again', async () => {
    const tablesBefore = await tables();
    const dataBefore = await dataChecksums(host.root);
    const target = await prepareBackup(s3, 'ext-restore', 2, 5, 'pgdump');
    const b = await step('backup', target.params);
    expect(b.result).toMatchObject({ ok: true });
    await completeBackup(s3, target, b.result.data.parts);
    await waitHealthy(host.healthUrl, 10_000);

    expect(await upgradeTo('2.0.0')).toMatchObject({ ok: true });
    expect(await tables()).toEqual([...tablesBefore, 'audit_events'].sort());

    const r = await step('restore', {
      Mode: 'external',
      ...restoreFrom(target),
      DataSha256: b.result.data.sha256,
      ConfigSha256: b.result.config.sha256,
    });
    expect(r.result).toMatchObject({ ok: true, restored: true, version: '1.6.0' });
    expect(await tables()).toEqual(tablesBefore);
    expect(await dataChecksums(host.root)).toEqual(dataBefore);

    await waitHealthy(host.healthUrl, 10_000);
    expect(await upgradeTo('2.0.0')).toMatchObject({ ok: true });
  });
});
