/**
 * Found by the backup/restore benchmark (issue #13 item 3): an external
 * database whose dump is bigger than the pipes between curl, tee and
 * `pg_restore -l` could not be restored. The verification pass streams the
 * download into `pg_restore -l`, which reads only the archive's table of
 * contents and exits; the rest of the stream then has no reader, tee and curl
 * fail writing ("curl: (23) Failure writing output to destination") and the
 * restore ends verify-failed, so a rollback of any real-sized database fails.
 * Real bash, pg_dump/pg_restore against a real PostgreSQL database.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createHost, reserveHostPort, dataChecksums, destroyHost, type LabHost } from '../../../lab/hosts';
import { paths, readEnvFile } from '../../../lab/hosts/state';
import { completeBackup, prepareBackup, restoreFrom, runStep, startS3, type TestS3 } from './support';

describe('restoring an external database bigger than the pipe buffers', () => {
  let s3: TestS3;
  let host: LabHost;
  let base: string;
  let adminUrl: string;
  const sql = async (text: string) => {
    const client = new pg.Client({ connectionString: readEnvFile(join(paths(host.root).composeDir, 'semaphor.env')).DATABASE_URL! });
    await client.connect();
    try {
      return (await client.query(text)).rows;
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    adminUrl = inject('databaseUrl');
    base = mkdtempSync(join(tmpdir(), 'fw-ext-large-'));
    s3 = await startS3();
    host = await createHost({ root: join(base, 'h'), hostId: 'h-ext-large', mode: 'external', version: '1.6.0', port: await reserveHostPort(), adminDatabaseUrl: adminUrl });
    // about 6 MB of random text: a dump of about 3 MB, far beyond a 64 KiB pipe
    await sql(`CREATE TABLE attachments AS SELECT g AS id, ${Array(8).fill('md5(random()::text)').join(' || ')} AS body FROM generate_series(1, 24000) g`);
  });
  afterAll(async () => {
    if (host) await destroyHost(host, adminUrl);
    await s3?.close();
    rmSync(base, { recursive: true, force: true });
  });

  it('verifies the whole download and restores every row', async () => {
    const before = await dataChecksums(host.root);
    const target = await prepareBackup(s3, 'ext-large', 2, 5, 'pgdump');
    const b = await step('backup', target.params);
    expect(b.result).toMatchObject({ ok: true });
    expect(b.result.data.bytes).toBeGreaterThan(1024 * 1024);
    await completeBackup(s3, target, b.result.data.parts);
    await sql('DELETE FROM attachments WHERE id > 10');

    const r = await step('restore', {
      Mode: 'external',
      ...restoreFrom(target),
      DataSha256: b.result.data.sha256,
      ConfigSha256: b.result.config.sha256,
    });
    expect(r.result, JSON.stringify(r.result)).toMatchObject({ ok: true, restored: true });
    expect(await sql('SELECT count(*)::int AS n FROM attachments')).toEqual([{ n: 24000 }]);
    expect(await dataChecksums(host.root)).toEqual(before);
  });

  const step = (s: Parameters<typeof runStep>[0], params: Record<string, string | string[]> = {}) => runStep(s, host.root, { ComposeDir: host.composeDir, ...params });
});
