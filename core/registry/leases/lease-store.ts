/**
 * The host leases port: one holder per host at a time, with a fencing token.
 * Token = ++hosts.lease_seq (monotonic per host). Every write that changes a
 * host (runs, steps, backups) carries the token, and the stores refuse it with
 * `StaleLeaseError` unless it is the host's current, unexpired lease.
 */
import { z } from 'zod';

/** A lease holder: normally the execution ARN of the workflow holding the host. */
export const LeaseHolder = z.string().min(1).max(2048);
export const LeaseToken = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
/** Lease time-to-live; 0 is allowed (an immediately expired lease, used by tests and forced hand-over). */
export const LeaseTtlSeconds = z.number().int().min(0).max(7 * 24 * 3600);

export interface LeaseGrant {
  token: number;
  expiresAt: number;
}

export interface Lease extends LeaseGrant {
  hostId: string;
  holder: string;
  acquiredAt: number;
  /** Computed with the database clock at read time. */
  expired: boolean;
}

export interface LeaseStore {
  /**
   * Take the host's lease. The same holder re-acquiring an unexpired lease
   * gets the same token back (expiry extended), so a retried Lambda is harmless.
   * @throws HostRetiredError when the host was retired (no fleet file lists it)
   * @throws HostQuarantinedError when the host is locked
   * @throws HostLockedError when another holder's lease is unexpired
   * @throws HostNotFoundError
   */
  acquireLease(hostId: string, holder: string, ttlSeconds: number): Promise<LeaseGrant>;
  /** @throws StaleLeaseError unless `token` is the current unexpired lease */
  renewLease(hostId: string, token: number, ttlSeconds: number): Promise<LeaseGrant>;
  /** No-op when already released; @throws StaleLeaseError when another holder has an unexpired lease. */
  releaseLease(hostId: string, token: number): Promise<void>;
  /** @throws StaleLeaseError unless `token` is the current unexpired lease */
  assertLease(hostId: string, token: number): Promise<void>;
  /** The lease row as stored (possibly expired), null when none. */
  getLease(hostId: string): Promise<Lease | null>;
}
