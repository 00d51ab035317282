/**
 * Issue #12 item 5: scripts run as root in the customer's compose directory,
 * which other users may be able to write. Nothing a script writes may go
 * through a link planted there, and a backup never archives a link in place
 * of the file the services read. Real bash, a simulated embedded host.
 */
import { lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { HostStep } from '../../../core/models';
import { createHost, reserveHostPort, dataChecksums, destroyHost, type LabHost } from '../../../lab/hosts';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { BUCKET, completeBackup, prepareBackup, restoreFrom, runStep, startS3, type TestS3 } from './support';

describe('planted links in the compose directory', () => {
  let s3: TestS3;
  let host: LabHost;
  let base: string;
  let adminUrl: string;
  let restoreParams: () => Promise<Record<string, string>>;
  const step = (s: HostStep, params: Record<string, string | string[]> = {}) => runStep(s, host.root, { ComposeDir: host.composeDir, ...params });
  const plantedLinks = () => readdirSync(host.composeDir).filter((n) => lstatSync(join(host.composeDir, n)).isSymbolicLink());

  beforeAll(async () => {
    adminUrl = inject('databaseUrl');
    base = mkdtempSync(join(tmpdir(), 'fw-links-'));
    s3 = await startS3();
    host = await createHost({ root: join(base, 'h'), hostId: 'h-links', mode: 'embedded', version: '1.4.0', port: await reserveHostPort(), adminDatabaseUrl: adminUrl });
    const target = await prepareBackup(s3, 'links', 2);
    const b = await step('backup', target.params);
    expect(b.result).toMatchObject({ ok: true });
    await completeBackup(s3, target, b.result.data.parts);
    restoreParams = async () => ({
      Mode: 'embedded',
      ...restoreFrom(target),
      DataSha256: b.result.data.sha256,
      ConfigSha256: b.result.config.sha256,
    });
  });
  afterAll(async () => {
    if (host) await destroyHost(host, adminUrl);
    await s3?.close();
    rmSync(base, { recursive: true, force: true });
  });

  it('restore writes no config file through a link planted at a temp name, dangling or not', async () => {
    const victim = join(base, 'victim.txt');
    writeFileSync(victim, 'not yours\n');
    const links = [
      ['.semaphor.env.fleetwave-restore.tmp', join(base, 'nowhere')], // dangling
      ['.docker-compose.yml.fleetwave-restore.tmp', victim],
    ] as const;
    for (const [name, to] of links) symlinkSync(to, join(host.composeDir, name));
    const before = await dataChecksums(host.root);

    const r = await step('restore', await restoreParams());

    expect(r.result).toMatchObject({ step: 'restore', ok: true, restored: true, version: '1.4.0' });
    expect(readFileSync(victim, 'utf8')).toBe('not yours\n');
    expect(await dataChecksums(host.root)).toEqual(before);
    for (const [name] of links) unlinkSync(join(host.composeDir, name));
    // nothing of the restore's own is left behind
    expect(readdirSync(host.composeDir).filter((n) => n.includes('fleetwave'))).toEqual([]);
  });

  it('restore replaces a link planted at a config file name instead of writing through it', async () => {
    const victim = join(base, 'victim-env.txt');
    writeFileSync(victim, 'untouched\n');
    const env = join(host.composeDir, 'semaphor.env');
    const original = readFileSync(env, 'utf8');
    unlinkSync(env);
    symlinkSync(victim, env);

    const r = await step('restore', await restoreParams());

    expect(r.result).toMatchObject({ ok: true, restored: true });
    expect(readFileSync(victim, 'utf8')).toBe('untouched\n');
    expect(lstatSync(env).isSymbolicLink()).toBe(false);
    expect(readFileSync(env, 'utf8')).toBe(original);
  });

  it('pin-tags leaves links planted in the compose directory untouched and creates none', async () => {
    const victim = join(base, 'victim-pin.txt');
    writeFileSync(victim, 'mine\n');
    symlinkSync(victim, join(host.composeDir, '.fleetwave-pin.tmp'));
    expect((await step('pull-images', { Version: '1.5.0' })).result).toMatchObject({ ok: true });
    const r = await step('pin-tags', { Version: '1.5.0' });
    expect(r.result).toMatchObject({ ok: true, changed: true });
    expect(readFileSync(victim, 'utf8')).toBe('mine\n');
    expect(plantedLinks()).toEqual(['.fleetwave-pin.tmp']);
    unlinkSync(join(host.composeDir, '.fleetwave-pin.tmp'));
    expect((await step('pin-tags', { Version: '1.4.0' })).result).toMatchObject({ ok: true, changed: true });
    expect(readdirSync(host.composeDir).filter((n) => n.includes('fleetwave'))).toEqual([]);
  });

  it('backup refuses a config file that is a link, names it, and uploads nothing', async () => {
    const env = join(host.composeDir, 'semaphor.env');
    const real = join(base, 'semaphor.env.real');
    writeFileSync(real, readFileSync(env));
    unlinkSync(env);
    symlinkSync(real, env);
    try {
      const target = await prepareBackup(s3, 'links-refused', 1);
      const b = await step('backup', target.params);
      expect(b.code).toBe(1);
      expect(b.result).toMatchObject({ ok: false, error: 'backup-failed', message: expect.stringContaining('semaphor.env is a symbolic link') });
      await expect(s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: target.configKey }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    } finally {
      unlinkSync(env);
      writeFileSync(env, readFileSync(real));
    }
  });
});
