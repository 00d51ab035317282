import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupNotFoundError, BackupStateError, InvalidRegistryInputError } from '../../../core/registry/errors';
import type { Backup, Host, LeaseGrant } from '../../../core/registry/store';
import { openRegistry, randomUUID, seedHost, sha, type Registry } from './fixtures';

let reg: Registry;
beforeAll(async () => {
  reg = await openRegistry();
});
afterAll(async () => {
  await reg.close();
});

const ARN = 'arn:aws:states:us-east-1:000000000000:execution:HostUpgrade:bk';
const details = (seed: string) => ({
  dataBytes: 4096,
  dataSha256: sha(`data-${seed}`),
  dataEntries: 12,
  configBytes: 300,
  configSha256: sha(`cfg-${seed}`),
});

async function hostWithLease(): Promise<{ host: Host; lease: LeaseGrant }> {
  const host = await seedHost(reg.store);
  return { host, lease: await reg.store.acquireLease(host.id, ARN, 600) };
}

async function backup(host: Host, version: string): Promise<Backup> {
  const id = randomUUID();
  return reg.store.createBackup({
    id,
    hostId: host.id,
    version,
    mode: host.databaseMode,
    dataKey: `backups/${host.id}/${id}/data.tar.gz`,
    dataFormat: 'tar.gz',
    configKey: `backups/${host.id}/${id}/config.tar.gz`,
  });
}

describe('backups', () => {
  it('creates a pending backup once per id', async () => {
    const { host } = await hostWithLease();
    const b = await backup(host, '1.4.0');

    const again = await reg.store.createBackup({ ...b, runId: null });

    expect(again).toEqual(b);
    expect(b).toMatchObject({ status: 'pending', dataSha256: null, verifiedAt: null });
    expect(await reg.store.listBackups(host.id)).toHaveLength(1);
  });

  it('lists a host backups newest first', async () => {
    const { host } = await hostWithLease();
    const made = [await backup(host, '1.4.0'), await backup(host, '1.5.0'), await backup(host, '1.6.0')];

    const listed = await reg.store.listBackups(host.id);

    expect(listed.map((b) => b.id)).toEqual(made.map((b) => b.id).reverse());
    expect(listed[0]!.createdAt).toBeGreaterThanOrEqual(listed[2]!.createdAt);
  });

  it('finds the latest verified backup, filtered by version and by time', async () => {
    const { host, lease } = await hostWithLease();
    const old140 = await backup(host, '1.4.0');
    await reg.store.markBackupVerified(old140.id, lease.token, details('a'));
    const new140 = await backup(host, '1.4.0');
    await reg.store.markBackupVerified(new140.id, lease.token, details('b'));
    const v150 = await backup(host, '1.5.0');
    await reg.store.markBackupVerified(v150.id, lease.token, details('c'));
    const pending = await backup(host, '1.5.0');
    const failed = await backup(host, '1.5.0');
    await reg.store.markBackupFailed(failed.id, 'disk full');

    expect((await reg.store.latestVerifiedBackup(host.id))?.id).toBe(v150.id);
    expect((await reg.store.latestVerifiedBackup(host.id, { version: '1.4.0' }))?.id).toBe(new140.id);
    expect((await reg.store.latestVerifiedBackup(host.id, { before: v150.createdAt }))?.id).toBe(new140.id);
    expect((await reg.store.latestVerifiedBackup(host.id, { version: '1.4.0', before: new140.createdAt }))?.id).toBe(old140.id);
    expect(await reg.store.latestVerifiedBackup(host.id, { version: '1.6.0' })).toBeNull();
    // v1.4.0 is 1.4.0 (rollback --to-version v1.4.0)
    expect((await reg.store.latestVerifiedBackup(host.id, { version: 'v1.4.0' }))?.id).toBe(new140.id);
    expect([pending.status, (await reg.store.getBackup(failed.id)).status]).toEqual(['pending', 'failed']);
  });

  it('verifies idempotently and refuses other checksums for a verified backup', async () => {
    const { host, lease } = await hostWithLease();
    const b = await backup(host, '1.4.0');

    const v1 = await reg.store.markBackupVerified(b.id, lease.token, details('x'));
    const v2 = await reg.store.markBackupVerified(b.id, lease.token, details('x'));

    expect(v1).toMatchObject({ status: 'verified', dataBytes: 4096, dataEntries: 12, dataSha256: sha('data-x') });
    expect(v2).toEqual(v1);
    await expect(reg.store.markBackupVerified(b.id, lease.token, details('y'))).rejects.toBeInstanceOf(BackupStateError);
  });

  it('records the S3 version ids verification read, so a restore fetches exactly those bytes', async () => {
    const { host, lease } = await hostWithLease();
    const b = await backup(host, '1.4.0');
    expect(b).toMatchObject({ dataVersionId: null, configVersionId: null });
    const ids = { dataVersionId: 'OtT3.Yp1tKp9gJqUPJkTFsuhT2V8nlvZ', configVersionId: 'Hk9vLxs0q_0dLw0z7lQkTN0bXWVgqZpC' };
    const v = await reg.store.markBackupVerified(b.id, lease.token, { ...details('vid'), ...ids });
    expect(v).toMatchObject(ids);
    expect(await reg.store.latestVerifiedBackup(host.id)).toMatchObject({ id: b.id, ...ids });
    // storage without versioning (the lab's s3rver) has none to record
    const unversioned = await backup(host, '1.4.0');
    expect(await reg.store.markBackupVerified(unversioned.id, lease.token, details('nov'))).toMatchObject({ dataVersionId: null, configVersionId: null });
  });

  it('never lets a failed backup become verified, nor a verified one be failed', async () => {
    const { host, lease } = await hostWithLease();
    const failed = await backup(host, '1.4.0');
    await reg.store.markBackupFailed(failed.id, 'tar: No space left on device');
    const good = await backup(host, '1.4.0');
    await reg.store.markBackupVerified(good.id, lease.token, details('g'));

    await expect(reg.store.markBackupVerified(failed.id, lease.token, details('f'))).rejects.toBeInstanceOf(BackupStateError);
    await expect(reg.store.markBackupFailed(good.id, 'late failure')).rejects.toBeInstanceOf(BackupStateError);
    expect((await reg.store.markBackupFailed(failed.id, 'second reason')).failure).toBe('tar: No space left on device');
  });

  it('refuses to verify an empty backup (zero bytes or zero entries)', async () => {
    const { host, lease } = await hostWithLease();
    const b = await backup(host, '1.4.0');
    await expect(reg.store.markBackupVerified(b.id, lease.token, { ...details('e'), dataEntries: 0 })).rejects.toBeInstanceOf(
      InvalidRegistryInputError,
    );
    await expect(reg.store.markBackupVerified(b.id, lease.token, { ...details('e'), dataBytes: 0 })).rejects.toBeInstanceOf(
      InvalidRegistryInputError,
    );
    expect((await reg.store.getBackup(b.id)).status).toBe('pending');
  });

  it('has the database refuse a verified row without checksums, whatever code writes it', async () => {
    const { host } = await hostWithLease();
    const b = await backup(host, '1.4.0');
    await expect(
      reg.pool.query(`UPDATE backups SET status = 'verified', verified_at = now() WHERE id = $1`, [b.id]),
    ).rejects.toThrow(/backups_verified_complete/);
  });

  it('throws BackupNotFoundError for an unknown backup', async () => {
    await expect(reg.store.getBackup(randomUUID())).rejects.toBeInstanceOf(BackupNotFoundError);
  });
});
