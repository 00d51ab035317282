/** `host unlock` against the in-memory registry: the way out of quarantine, audited with its reason. */
import { describe, expect, it } from 'vitest';
import { hostUnlock } from '../../../cli/commands/host-lifecycle';
import { memoryRegistry } from '../../support/memory-registry';

async function quiet<T>(fn: () => Promise<T>): Promise<T> {
  const out = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return await fn();
  } finally {
    process.stdout.write = out;
  }
}

async function quarantined() {
  const store = memoryRegistry();
  await store.upsertFleet({ id: 'acme' });
  await store.upsertHost({ id: 'acme-1', fleetId: 'acme', instanceId: 'i-0123456789abcdef0', tier: 'staging', databaseMode: 'embedded', composeDir: '/opt/semaphor', healthUrl: 'http://10.0.0.5:3000/api/health' });
  await store.lockHost('acme-1', 'rollback failed during run r1: restore-failed');
  return store;
}

describe('host unlock', () => {
  it('lifts the quarantine and audits who did it and why', async () => {
    const store = await quarantined();

    expect(await quiet(() => hostUnlock({ store }, { host: 'acme-1', reason: 'volume restored by hand from backup 9b2f' }))).toBe(0);

    expect((await store.getHost('acme-1')).locked).toBe(false);
    const [entry] = await store.listAudit({ hostId: 'acme-1' });
    expect(entry).toMatchObject({ action: 'host.unlocked', details: { wasLocked: true, previousReason: 'rollback failed during run r1: restore-failed', reason: 'volume restored by hand from backup 9b2f' } });
    expect(entry!.actor).toMatch(/^cli:/);
  });

  it('needs a reason, and leaves a host that is not quarantined alone', async () => {
    const store = await quarantined();
    await expect(hostUnlock({ store }, { host: 'acme-1' })).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/^--reason: /) });
    await expect(hostUnlock({ store }, { host: 'ghost-1', reason: 'x' })).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/^--host: no host ghost-1/) });
    expect((await store.getHost('acme-1')).locked).toBe(true);

    await quiet(() => hostUnlock({ store }, { host: 'acme-1', reason: 'fixed' }));
    const before = (await store.listAudit({ hostId: 'acme-1' })).length;
    expect(await quiet(() => hostUnlock({ store }, { host: 'acme-1', reason: 'again' }))).toBe(0);
    expect(await store.listAudit({ hostId: 'acme-1' })).toHaveLength(before);
  });
});
