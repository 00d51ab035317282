import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HostLockedError,
  HostNotFoundError,
  HostQuarantinedError,
  StaleLeaseError,
} from '../../../core/registry/errors';
import { assertLease } from '../../../core/registry/leases/pg-lease-store';
import { openRegistry, randomUUID, seedHost, sha, stepOutcome, type Registry } from './fixtures';

let reg: Registry;
beforeAll(async () => {
  reg = await openRegistry();
});
afterAll(async () => {
  await reg.close();
});

const ARN_A = 'arn:aws:states:us-east-1:000000000000:execution:HostUpgrade:a';
const ARN_B = 'arn:aws:states:us-east-1:000000000000:execution:HostUpgrade:b';

const num = (v: unknown) => Number(v);
/** Poll a condition (no guessed sleeps): a loaded machine only makes it slower, never wrong. */
async function until(condition: () => Promise<boolean>, what = 'condition', timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('host leases', () => {
  it('refuses a second holder with a message naming the holder and the expiry', async () => {
    const { store } = reg;
    const host = await seedHost(store);
    const grant = await store.acquireLease(host.id, ARN_A, 600);

    const err = await store.acquireLease(host.id, ARN_B, 600).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(HostLockedError);
    expect((err as HostLockedError).name).toBe('HostLockedError');
    expect((err as Error).message).toContain(ARN_A);
    expect((err as Error).message).toContain(new Date(grant.expiresAt).toISOString());
  });

  it('gives the same holder its existing token back (a retried task)', async () => {
    const { store } = reg;
    const host = await seedHost(store);
    const first = await store.acquireLease(host.id, ARN_A, 60);

    const again = await store.acquireLease(host.id, ARN_A, 600);

    expect(again.token).toBe(first.token);
    expect(again.expiresAt).toBeGreaterThan(first.expiresAt);
    expect((await store.getHost(host.id)).leaseSeq).toBe(first.token);
  });

  it('hands out a new, larger token after each release and never reuses one', async () => {
    const { store } = reg;
    const host = await seedHost(store);
    const tokens: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { token } = await store.acquireLease(host.id, ARN_A, 60);
      tokens.push(token);
      await store.releaseLease(host.id, token);
    }
    expect(tokens).toEqual([tokens[0], tokens[0]! + 1, tokens[0]! + 2]);
    expect(await store.getLease(host.id)).toBeNull();
  });

  it('lets exactly one of several concurrent holders win', async () => {
    const { store } = reg;
    const host = await seedHost(store);
    const holders = Array.from({ length: 5 }, (_, i) => `${ARN_A}-${i}`);

    const results = await Promise.allSettled(holders.map((h) => store.acquireLease(host.id, h, 60)));

    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(HostLockedError);
  });

  it('lets an expired lease (database clock) be taken over with a new token', async () => {
    const { store } = reg;
    const host = await seedHost(store);
    const old = await store.acquireLease(host.id, ARN_A, 1);
    await expect(store.acquireLease(host.id, ARN_B, 60)).rejects.toBeInstanceOf(HostLockedError);

    await until(async () => (await reg.pool.query('SELECT expires_at <= now() AS over FROM host_leases WHERE host_id = $1', [host.id])).rows[0].over === true);
    const taken = await store.acquireLease(host.id, ARN_B, 60);

    expect(taken.token).toBeGreaterThan(old.token);
    const audit = await store.listAudit({ hostId: host.id });
    expect(audit[0]).toMatchObject({ action: 'lease.taken-over', actor: ARN_B, details: { previousHolder: ARN_A } });
  });

  it('makes a takeover wait for a fenced write that checked the lease while it was live', async () => {
    const { store, pool } = reg;
    const host = await seedHost(store);
    const old = await store.acquireLease(host.id, ARN_A, 1);
    const writer = await pool.connect();
    try {
      await writer.query('BEGIN');
      await assertLease(writer, host.id, old.token);
      const writerPid = num((await writer.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
      // the lease expires mid-write: wait until the database itself says so, not for a guessed time
      await until(async () => (await pool.query('SELECT expires_at <= now() AS over FROM host_leases WHERE host_id = $1', [host.id])).rows[0].over === true);

      let settled = false;
      const takeover = store.acquireLease(host.id, ARN_B, 60).finally(() => {
        settled = true;
      });
      // the takeover is seen waiting on the writer's lock (pg_blocking_pids), or it settled without waiting
      await until(async () => settled || (await pool.query('SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [writerPid])).rowCount! > 0);
      expect(settled).toBe(false); // blocked on the writer's share lock

      await writer.query('COMMIT');
      expect((await takeover).token).toBe(old.token + 1);
    } finally {
      writer.release();
    }
  });

  describe('after an expired lease was taken over, the old holder is fenced off', () => {
    async function takenOver() {
      const { store } = reg;
      const host = await seedHost(store);
      const old = await store.acquireLease(host.id, ARN_A, 600);
      const run = await store.createRun({
        id: randomUUID(),
        hostId: host.id,
        kind: 'upgrade',
        fromVersion: '1.4.0',
        targetVersion: '1.5.0',
        leaseToken: old.token,
      });
      const backup = await store.createBackup({
        id: randomUUID(),
        hostId: host.id,
        runId: run.id,
        version: '1.4.0',
        mode: 'embedded',
        dataKey: `backups/${host.id}/b/data.tar.gz`,
        dataFormat: 'tar.gz',
        configKey: `backups/${host.id}/b/config.tar.gz`,
      });
      // ttl 0 expires the lease as of the next transaction (database clock)
      await store.renewLease(host.id, old.token, 0);
      const fresh = await store.acquireLease(host.id, ARN_B, 600);
      return { host, old, fresh, run, backup };
    }

    it('recordStep is rejected with StaleLeaseError', async () => {
      const { old, run } = await takenOver();
      await expect(reg.store.recordStep(run.id, old.token, stepOutcome('preflight', 'c-1', 'Success'))).rejects.toBeInstanceOf(
        StaleLeaseError,
      );
      expect(await reg.store.listSteps(run.id)).toEqual([]);
    });

    it('finishRun is rejected and the run stays running', async () => {
      const { old, run } = await takenOver();
      const err = await reg.store
        .finishRun(run.id, old.token, { status: 'succeeded', outcome: 'succeeded' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StaleLeaseError);
      expect((err as Error).name).toBe('StaleLeaseError');
      expect((await reg.store.getRun(run.id)).status).toBe('running');
    });

    it('markBackupVerified is rejected and the backup stays pending', async () => {
      const { old, backup } = await takenOver();
      await expect(
        reg.store.markBackupVerified(backup.id, old.token, {
          dataBytes: 10,
          dataSha256: sha('d'),
          dataEntries: 3,
          configBytes: 5,
          configSha256: sha('c'),
        }),
      ).rejects.toBeInstanceOf(StaleLeaseError);
      expect((await reg.store.getBackup(backup.id)).status).toBe('pending');
    });

    it('a new run under the old token cannot be created, and the old run cannot be written with the new token', async () => {
      const { host, old, fresh, run } = await takenOver();
      await expect(
        reg.store.createRun({
          id: randomUUID(),
          hostId: host.id,
          kind: 'upgrade',
          fromVersion: null,
          targetVersion: '1.5.0',
          leaseToken: old.token,
        }),
      ).rejects.toBeInstanceOf(StaleLeaseError);
      await expect(reg.store.recordStep(run.id, fresh.token, stepOutcome('preflight', 'c-2', 'Success'))).rejects.toThrow(
        /belongs to lease token/,
      );
    });

    it('renew and release by the old holder are refused while the new lease lives', async () => {
      const { host, old, fresh } = await takenOver();
      await expect(reg.store.renewLease(host.id, old.token, 600)).rejects.toBeInstanceOf(StaleLeaseError);
      await expect(reg.store.releaseLease(host.id, old.token)).rejects.toBeInstanceOf(StaleLeaseError);
      expect((await reg.store.getLease(host.id))?.token).toBe(fresh.token);
    });
  });

  it('refuses any lease on a quarantined host until an operator unlocks it', async () => {
    const { store } = reg;
    const host = await seedHost(store);
    await store.lockHost(host.id, 'restore failed: ROLLBACK_FAILED');

    const err = await store.acquireLease(host.id, ARN_A, 60).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostQuarantinedError);
    expect((err as Error).message).toMatch(/ROLLBACK_FAILED/);

    await store.unlockHost(host.id, 'cli:alice');
    await expect(store.acquireLease(host.id, ARN_A, 60)).resolves.toMatchObject({ token: expect.any(Number) });
    const actions = (await store.listAudit({ hostId: host.id })).map((a) => `${a.action}:${a.actor}`);
    expect(actions).toEqual(['host.unlocked:cli:alice', 'host.locked:fleetwave']);
  });

  it('refuses to unlock a quarantined host while a run holds its lease, then unlocks it with the reason audited', async () => {
    const { store } = reg;
    const host = await seedHost(store);
    const grant = await store.acquireLease(host.id, ARN_A, 600); // e.g. a HostRollback still restoring by hand
    await store.lockHost(host.id, 'restore failed: ROLLBACK_FAILED');

    const err = await store.unlockHost(host.id, 'cli:alice', 'fixed the volume').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostLockedError);
    expect((await store.getHost(host.id)).locked).toBe(true);

    await store.releaseLease(host.id, grant.token);
    expect(await store.unlockHost(host.id, 'cli:alice', 'fixed the volume')).toMatchObject({ locked: false });
    const [unlocked] = await store.listAudit({ hostId: host.id });
    expect(unlocked).toMatchObject({ action: 'host.unlocked', actor: 'cli:alice', details: { wasLocked: true, previousReason: 'restore failed: ROLLBACK_FAILED', reason: 'fixed the volume' } });
  });

  it('grants no lease on a retired host, and keeps a host whose lease is held from being retired', async () => {
    const { store } = reg;
    const kept = await seedHost(store);
    const fleetId = kept.fleetId;
    const busy = await seedHost(store, { fleetId });
    const asFile = (h: typeof kept) => ({ id: h.id, fleetId, instanceId: h.instanceId, tier: h.tier, databaseMode: h.databaseMode, composeDir: h.composeDir, healthUrl: h.healthUrl });
    await store.applyFleet({ fleet: { id: fleetId }, hosts: [asFile(kept), asFile(busy)], actor: 'cli:alice' });
    const lease = await store.acquireLease(busy.id, ARN_A, 600);

    const refused = await store.applyFleet({ fleet: { id: fleetId }, hosts: [], actor: 'cli:alice' }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: 'FleetApplyRefusedError', problems: [{ hostId: busy.id, field: null, message: expect.stringContaining(ARN_A) }] });
    expect((await store.listHosts({ fleetId })).map((h) => h.id).sort()).toEqual([kept.id, busy.id].sort()); // nothing retired, not even the free one

    await store.releaseLease(busy.id, lease.token);
    expect(await store.applyFleet({ fleet: { id: fleetId }, hosts: [], actor: 'cli:alice' })).toMatchObject({ retired: [kept.id, busy.id].sort() });
    await expect(store.acquireLease(kept.id, ARN_B, 60)).rejects.toMatchObject({ name: 'HostRetiredError' });
  });

  it('renews a live lease and rejects renewal after it expired', async () => {
    const { store } = reg;
    const host = await seedHost(store);
    const grant = await store.acquireLease(host.id, ARN_A, 5);

    const renewed = await store.renewLease(host.id, grant.token, 600);
    expect(renewed.token).toBe(grant.token);
    expect(renewed.expiresAt).toBeGreaterThan(grant.expiresAt);

    await store.renewLease(host.id, grant.token, 0);
    await expect(store.renewLease(host.id, grant.token, 600)).rejects.toThrow(/expired/);
  });

  it('treats a repeated release as a no-op and asserts only the live token', async () => {
    const { store } = reg;
    const host = await seedHost(store);
    const grant = await store.acquireLease(host.id, ARN_A, 60);
    await expect(store.assertLease(host.id, grant.token)).resolves.toBeUndefined();
    await expect(store.assertLease(host.id, grant.token + 1)).rejects.toBeInstanceOf(StaleLeaseError);

    await store.releaseLease(host.id, grant.token);
    await store.releaseLease(host.id, grant.token);

    await expect(store.assertLease(host.id, grant.token)).rejects.toThrow(/holds no lease/);
  });

  it('refuses a lease on an unknown host', async () => {
    await expect(reg.store.acquireLease('no-such-host', ARN_A, 60)).rejects.toBeInstanceOf(HostNotFoundError);
  });
});
