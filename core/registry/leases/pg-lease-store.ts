/**
 * `LeaseStore` over PostgreSQL, and `assertLease`, the fencing check the
 * other stores run inside their own transactions.
 *
 * Locking: `acquireLease` locks the host row, then the lease row, FOR UPDATE.
 * Fenced writes lock the lease row FOR SHARE before writing, so a takeover
 * waits for an in-flight fenced write and the fenced write cannot commit
 * after a takeover: check and write are atomic.
 */
import type pg from 'pg';
import { HostId } from '../../models';
import { insertAudit } from '../audit/pg-audit-store';
import { HostLockedError, HostNotFoundError, HostQuarantinedError, HostRetiredError, StaleLeaseError } from '../errors';
import { parse } from '../fields';
import { fromRow, ms, num, str, strOrNull, withTransaction, type Db, type Row } from '../pg';
import { LeaseHolder, LeaseToken, LeaseTtlSeconds, type Lease, type LeaseGrant, type LeaseStore } from './lease-store';

/**
 * Throws `StaleLeaseError` unless `token` is the host's current, unexpired
 * lease. Call it inside the transaction of every fenced write: the row lock it
 * takes (FOR SHARE, or FOR UPDATE when the caller will change the lease)
 * makes a concurrent takeover wait until the write has committed.
 */
export async function assertLease(
  client: Db,
  hostId: string,
  token: number,
  lock: 'share' | 'update' = 'share',
): Promise<{ holder: string; expiresAt: number }> {
  const { rows } = await client.query(
    `SELECT token, holder, expires_at, expires_at > now() AS live
       FROM host_leases WHERE host_id = $1 FOR ${lock === 'update' ? 'UPDATE' : 'SHARE'}`,
    [hostId],
  );
  const row = rows[0] as Row | undefined;
  if (!row) throw new StaleLeaseError(hostId, token, 'the host holds no lease');
  const expiresAt = ms(row.expires_at);
  if (num(row.token) !== token) {
    throw new StaleLeaseError(
      hostId,
      token,
      `the current lease is token ${num(row.token)} held by ${str(row.holder)} until ${new Date(expiresAt).toISOString()}`,
    );
  }
  if (row.live !== true) throw new StaleLeaseError(hostId, token, `the lease expired at ${new Date(expiresAt).toISOString()}`);
  return { holder: str(row.holder), expiresAt };
}

export class PgLeaseStore implements LeaseStore {
  constructor(private readonly pool: pg.Pool) {}

  async acquireLease(hostId: string, holder: string, ttlSeconds: number): Promise<LeaseGrant> {
    const id = parse(HostId, hostId, 'host id');
    const who = parse(LeaseHolder, holder, 'lease holder');
    const ttl = parse(LeaseTtlSeconds, ttlSeconds, 'lease ttl');
    return withTransaction(this.pool, async (c) => {
      // Host row first, then lease row: the one lock order every lease path uses.
      const host = await c.query('SELECT locked, locked_reason, retired_at FROM hosts WHERE id = $1 FOR UPDATE', [id]);
      const h = host.rows[0] as Row | undefined;
      if (!h) throw new HostNotFoundError(id);
      if (h.retired_at !== null) throw new HostRetiredError(id);
      if (h.locked === true) throw new HostQuarantinedError(id, strOrNull(h.locked_reason));

      const current = await c.query(
        `SELECT token, holder, expires_at, expires_at > now() AS live FROM host_leases WHERE host_id = $1 FOR UPDATE`,
        [id],
      );
      const cur = current.rows[0] as Row | undefined;
      if (cur && cur.live === true) {
        if (str(cur.holder) !== who) throw new HostLockedError(id, str(cur.holder), ms(cur.expires_at));
        // Same holder again: a retried task. Same token; never shorten the lease.
        const { rows } = await c.query(
          `UPDATE host_leases SET expires_at = greatest(expires_at, now() + make_interval(secs => $2::double precision))
            WHERE host_id = $1 RETURNING token, expires_at`,
          [id, ttl],
        );
        const r = rows[0] as Row;
        return { token: num(r.token), expiresAt: ms(r.expires_at) };
      }

      const seq = await c.query('UPDATE hosts SET lease_seq = lease_seq + 1 WHERE id = $1 RETURNING lease_seq', [id]);
      const token = num((seq.rows[0] as Row).lease_seq);
      const { rows } = await c.query(
        `INSERT INTO host_leases (host_id, token, holder, acquired_at, expires_at)
         VALUES ($1, $2, $3, now(), now() + make_interval(secs => $4::double precision))
         ON CONFLICT (host_id) DO UPDATE SET
           token = EXCLUDED.token, holder = EXCLUDED.holder,
           acquired_at = EXCLUDED.acquired_at, expires_at = EXCLUDED.expires_at
         RETURNING token, expires_at`,
        [id, token, who, ttl],
      );
      if (cur) {
        // A lease that ran out while its holder may still be alive is worth a trail.
        await insertAudit(c, {
          actor: who,
          action: 'lease.taken-over',
          hostId: id,
          details: { previousHolder: str(cur.holder), previousToken: num(cur.token), expiredAt: ms(cur.expires_at), token },
        });
      }
      const r = rows[0] as Row;
      return { token: num(r.token), expiresAt: ms(r.expires_at) };
    });
  }

  async renewLease(hostId: string, token: number, ttlSeconds: number): Promise<LeaseGrant> {
    const t = parse(LeaseToken, token, 'lease token');
    const ttl = parse(LeaseTtlSeconds, ttlSeconds, 'lease ttl');
    return withTransaction(this.pool, async (c) => {
      await assertLease(c, hostId, t, 'update');
      const { rows } = await c.query(
        `UPDATE host_leases SET expires_at = now() + make_interval(secs => $2::double precision)
          WHERE host_id = $1 RETURNING token, expires_at`,
        [hostId, ttl],
      );
      const r = rows[0] as Row;
      return { token: num(r.token), expiresAt: ms(r.expires_at) };
    });
  }

  async releaseLease(hostId: string, token: number): Promise<void> {
    const t = parse(LeaseToken, token, 'lease token');
    await withTransaction(this.pool, async (c) => {
      const { rows } = await c.query(
        `SELECT token, holder, expires_at, expires_at > now() AS live FROM host_leases WHERE host_id = $1 FOR UPDATE`,
        [hostId],
      );
      const cur = rows[0] as Row | undefined;
      if (!cur) return; // released already (a retried release)
      if (num(cur.token) === t) {
        await c.query('DELETE FROM host_leases WHERE host_id = $1 AND token = $2', [hostId, t]);
        return;
      }
      if (cur.live === true) {
        throw new StaleLeaseError(
          hostId,
          t,
          `cannot release: the current lease is token ${num(cur.token)} held by ${str(cur.holder)} until ${new Date(ms(cur.expires_at)).toISOString()}`,
        );
      }
      // Someone else's lease that has expired: nothing of ours to release.
    });
  }

  async assertLease(hostId: string, token: number): Promise<void> {
    const t = parse(LeaseToken, token, 'lease token');
    await withTransaction(this.pool, async (c) => {
      await assertLease(c, hostId, t);
    });
  }

  async getLease(hostId: string): Promise<Lease | null> {
    const { rows } = await this.pool.query(
      'SELECT host_id, token, holder, acquired_at, expires_at, expires_at <= now() AS expired FROM host_leases WHERE host_id = $1',
      [hostId],
    );
    return rows[0] ? fromRow<Lease>(rows[0] as Row, { bigints: ['token'] }) : null;
  }
}
