/**
 * `RegistryStore` over PostgreSQL (`pg`). The pool is injected: Lambdas make
 * one per container (connect.ts), tests one per test database.
 *
 * Concurrency model:
 * - Writes that belong together (a state change and its audit entry, a
 *   fenced check and the write it guards) run in one transaction.
 * - Leases: `acquireLease` locks the host row, then the lease row, FOR
 *   UPDATE. Fenced writes lock the lease row FOR SHARE before writing, so a
 *   takeover waits for an in-flight fenced write and the fenced write cannot
 *   commit after a takeover: check and write are atomic.
 * - Expiry is judged by the database clock (`now()`), never a Lambda's clock.
 */
import type pg from 'pg';
import { z } from 'zod';
import type { DatabaseMode, HostStep, RunOutcome, Tier } from '../models';
import {
  BackupNotFoundError,
  BackupStateError,
  DuplicateInstanceError,
  FleetNotFoundError,
  HostLockedError,
  HostNotFoundError,
  HostQuarantinedError,
  InvalidRegistryInputError,
  RolloutNotFoundError,
  RunAlreadyFinishedError,
  RunConflictError,
  RunNotFoundError,
  StaleLeaseError,
} from './errors';
import { runMigrations, type MigrateResult } from './migrate';
import { redactDeep, redactSecrets } from '../redact';
import {
  Actor,
  AppendAuditInput,
  BackupVerification,
  CreateBackupInput,
  CreateRolloutInput,
  CreateRunInput,
  FinishRunInput,
  LeaseHolder,
  LeaseToken,
  LeaseTtlSeconds,
  RecordStepInput,
  UpsertFleetInput,
  UpsertHostInput,
  UpsertReleaseInput,
  UpsertRolloutWaveInput,
  type AuditEntry,
  type Backup,
  type BackupStatus,
  type DataFormat,
  type FailurePolicy,
  type Fleet,
  type Host,
  type HostRun,
  type LatestVerifiedBackupFilter,
  type Lease,
  type LeaseGrant,
  type ListAuditFilter,
  type RecordStepResult,
  type RegistryStore,
  type Release,
  type Rollout,
  type RolloutWave,
  type RunKind,
  type RunStatus,
  type RunStep,
  // compliance
  CompleteComplianceCheckInput,
  CreateComplianceCheckInput,
  type ComplianceCheck,
  type ComplianceFleetCounts,
  type ComplianceResult,
} from './store';
import { FleetId, HostId, RolloutId, Version } from '../models';

type Db = Pick<pg.PoolClient, 'query'>;
type Row = Record<string, unknown>;

/** Actor recorded for writes the orchestrator makes on its own behalf. */
export const SYSTEM_ACTOR = 'fleetwave';

// ---------------------------------------------------------------- helpers

function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(value)'}: ${i.message}`).join('; ');
  throw new InvalidRegistryInputError(`invalid ${what}: ${issues}`);
}

const Uuid = z.string().uuid();
const Limit = z.number().int().min(1).max(1000);
const FreeText = z.string().min(1).max(4000);

const ms = (v: unknown): number => (v as Date).getTime();
const msOrNull = (v: unknown): number | null => (v == null ? null : (v as Date).getTime());
/** bigint columns arrive as strings; all of ours stay far below 2^53. */
const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v == null ? null : Number(v));
const str = (v: unknown): string => v as string;
const strOrNull = (v: unknown): string | null => (v == null ? null : (v as string));

function pgCode(err: unknown): { code?: string; constraint?: string } {
  return typeof err === 'object' && err !== null ? (err as { code?: string; constraint?: string }) : {};
}

// ---------------------------------------------------------------- row mappers

function toFleet(r: Row): Fleet {
  return {
    id: str(r.id),
    appProfile: str(r.app_profile),
    desiredVersion: strOrNull(r.desired_version),
    config: (r.config as Record<string, unknown>) ?? {},
    createdAt: ms(r.created_at),
    updatedAt: ms(r.updated_at),
  };
}

function toHost(r: Row): Host {
  return {
    id: str(r.id),
    fleetId: str(r.fleet_id),
    instanceId: str(r.instance_id),
    tier: r.tier as Tier,
    databaseMode: r.database_mode as DatabaseMode,
    composeDir: str(r.compose_dir),
    healthUrl: str(r.health_url),
    wave: r.wave == null ? null : Number(r.wave),
    observedVersion: strOrNull(r.observed_version),
    observedAt: msOrNull(r.observed_at),
    locked: r.locked === true,
    lockedReason: strOrNull(r.locked_reason),
    leaseSeq: num(r.lease_seq),
    createdAt: ms(r.created_at),
    updatedAt: ms(r.updated_at),
  };
}

function toRelease(r: Row): Release {
  return {
    version: str(r.version),
    destructive: r.destructive === true,
    requires: (r.requires as string[]) ?? [],
    notes: str(r.notes),
    createdAt: ms(r.created_at),
  };
}

function toRollout(r: Row): Rollout {
  return {
    id: str(r.id),
    fleetId: str(r.fleet_id),
    targetVersion: str(r.target_version),
    status: str(r.status),
    failurePolicy: r.failure_policy as FailurePolicy,
    plan: (r.plan as Record<string, unknown>) ?? {},
    executionArn: strOrNull(r.execution_arn),
    createdAt: ms(r.created_at),
    updatedAt: ms(r.updated_at),
  };
}

function toWave(r: Row): RolloutWave {
  return {
    rolloutId: str(r.rollout_id),
    waveIndex: Number(r.wave_index),
    tier: r.tier as Tier,
    hostIds: (r.host_ids as string[]) ?? [],
    status: str(r.status),
    failed: Number(r.failed),
    succeeded: Number(r.succeeded),
  };
}

function toRun(r: Row): HostRun {
  return {
    id: str(r.id),
    hostId: str(r.host_id),
    rolloutId: strOrNull(r.rollout_id),
    kind: r.kind as RunKind,
    fromVersion: strOrNull(r.from_version),
    targetVersion: str(r.target_version),
    status: r.status as RunStatus,
    outcome: strOrNull(r.outcome) as RunOutcome | null,
    failedStep: strOrNull(r.failed_step) as HostStep | null,
    commandId: strOrNull(r.command_id),
    outputUri: strOrNull(r.output_uri),
    message: strOrNull(r.message),
    executionArn: strOrNull(r.execution_arn),
    leaseToken: num(r.lease_token),
    startedAt: ms(r.started_at),
    finishedAt: msOrNull(r.finished_at),
  };
}

function toStep(r: Row): RunStep {
  return {
    runId: str(r.run_id),
    step: r.step as HostStep,
    commandId: str(r.command_id),
    status: r.status as RunStep['status'],
    result: (r.result as Record<string, unknown> | null) ?? null,
    error: strOrNull(r.error),
    message: strOrNull(r.message),
    outputUri: strOrNull(r.output_uri),
    recordedAt: ms(r.recorded_at),
  };
}

function toBackup(r: Row): Backup {
  return {
    id: str(r.id),
    hostId: str(r.host_id),
    runId: strOrNull(r.run_id),
    version: str(r.version),
    mode: r.mode as DatabaseMode,
    dataKey: str(r.data_key),
    dataFormat: r.data_format as DataFormat,
    dataBytes: numOrNull(r.data_bytes),
    dataSha256: strOrNull(r.data_sha256),
    dataEntries: numOrNull(r.data_entries),
    configKey: str(r.config_key),
    configBytes: numOrNull(r.config_bytes),
    configSha256: strOrNull(r.config_sha256),
    status: r.status as BackupStatus,
    failure: strOrNull(r.failure),
    createdAt: ms(r.created_at),
    verifiedAt: msOrNull(r.verified_at),
  };
}

function toAudit(r: Row): AuditEntry {
  return {
    id: num(r.id),
    at: ms(r.at),
    actor: str(r.actor),
    action: str(r.action),
    hostId: strOrNull(r.host_id),
    rolloutId: strOrNull(r.rollout_id),
    runId: strOrNull(r.run_id),
    details: (r.details as Record<string, unknown>) ?? {},
  };
}

// ---------------------------------------------------------------- fencing

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

async function insertAudit(client: Db, input: z.output<typeof AppendAuditInput>): Promise<AuditEntry> {
  const { rows } = await client.query(
    `INSERT INTO audit_log (actor, action, host_id, rollout_id, run_id, details)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING *`,
    [
      input.actor,
      input.action,
      input.hostId ?? null,
      input.rolloutId ?? null,
      input.runId ?? null,
      JSON.stringify(redactDeep(input.details)),
    ],
  );
  return toAudit(rows[0] as Row);
}

// ---------------------------------------------------------------- the adapter

export class PgRegistryStore implements RegistryStore {
  constructor(private readonly pool: pg.Pool) {}

  /** Runs `fn` in one transaction; a failed connection is discarded, not returned to the pool. */
  async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackErr) {
        broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
      }
      throw err;
    } finally {
      client.release(broken);
    }
  }

  migrate(): Promise<MigrateResult> {
    return runMigrations(this.pool);
  }

  // ------------------------------------------------------------ fleets

  async upsertFleet(input: UpsertFleetInput): Promise<Fleet> {
    const f = parse(UpsertFleetInput, input, 'fleet');
    const { rows } = await this.pool.query(
      `INSERT INTO fleets (id, app_profile, desired_version, config)
       VALUES ($1, $2, $3, $4::jsonb)
       ON CONFLICT (id) DO UPDATE SET
         app_profile = EXCLUDED.app_profile,
         config = EXCLUDED.config,
         desired_version = CASE WHEN $5::boolean THEN EXCLUDED.desired_version ELSE fleets.desired_version END,
         updated_at = now()
       RETURNING *`,
      [f.id, f.appProfile, f.desiredVersion ?? null, JSON.stringify(f.config), f.desiredVersion !== undefined],
    );
    return toFleet(rows[0] as Row);
  }

  async getFleet(fleetId: string): Promise<Fleet> {
    const { rows } = await this.pool.query('SELECT * FROM fleets WHERE id = $1', [fleetId]);
    if (!rows[0]) throw new FleetNotFoundError(fleetId);
    return toFleet(rows[0] as Row);
  }

  async listFleets(): Promise<Fleet[]> {
    const { rows } = await this.pool.query('SELECT * FROM fleets ORDER BY id');
    return rows.map(toFleet);
  }

  async setDesiredVersion(fleetId: string, version: string | null): Promise<Fleet> {
    const v = parse(Version.nullable(), version, 'desired version');
    const { rows } = await this.pool.query(
      'UPDATE fleets SET desired_version = $2, updated_at = now() WHERE id = $1 RETURNING *',
      [fleetId, v],
    );
    if (!rows[0]) throw new FleetNotFoundError(fleetId);
    return toFleet(rows[0] as Row);
  }

  // ------------------------------------------------------------ hosts

  async upsertHost(input: UpsertHostInput): Promise<Host> {
    const h = parse(UpsertHostInput, input, 'host');
    try {
      const { rows } = await this.pool.query(
        `INSERT INTO hosts (id, fleet_id, instance_id, tier, database_mode, compose_dir, health_url, wave)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO UPDATE SET
           fleet_id = EXCLUDED.fleet_id,
           instance_id = EXCLUDED.instance_id,
           tier = EXCLUDED.tier,
           database_mode = EXCLUDED.database_mode,
           compose_dir = EXCLUDED.compose_dir,
           health_url = EXCLUDED.health_url,
           wave = CASE WHEN $9::boolean THEN EXCLUDED.wave ELSE hosts.wave END,
           updated_at = now()
         RETURNING *`,
        [h.id, h.fleetId, h.instanceId, h.tier, h.databaseMode, h.composeDir, h.healthUrl, h.wave ?? null, h.wave !== undefined],
      );
      return toHost(rows[0] as Row);
    } catch (err) {
      const { code, constraint } = pgCode(err);
      if (code === '23505' && constraint === 'hosts_instance_id_key') throw new DuplicateInstanceError(h.instanceId, h.id);
      if (code === '23503') throw new FleetNotFoundError(h.fleetId);
      throw err;
    }
  }

  async getHost(hostId: string): Promise<Host> {
    const { rows } = await this.pool.query('SELECT * FROM hosts WHERE id = $1', [hostId]);
    if (!rows[0]) throw new HostNotFoundError(hostId);
    return toHost(rows[0] as Row);
  }

  async listHosts(filter: { fleetId?: string } = {}): Promise<Host[]> {
    const { rows } = await this.pool.query(
      'SELECT * FROM hosts WHERE ($1::text IS NULL OR fleet_id = $1) ORDER BY fleet_id, wave NULLS LAST, id',
      [filter.fleetId ?? null],
    );
    return rows.map(toHost);
  }

  async recordObservedVersion(hostId: string, version: string | null): Promise<Host> {
    const v = parse(Version.nullable(), version, 'observed version');
    const { rows } = await this.pool.query(
      `UPDATE hosts SET observed_version = $2, observed_at = now(), updated_at = now()
        WHERE id = $1 RETURNING *`,
      [hostId, v],
    );
    if (!rows[0]) throw new HostNotFoundError(hostId);
    return toHost(rows[0] as Row);
  }

  async lockHost(hostId: string, reason: string, actor: string = SYSTEM_ACTOR): Promise<Host> {
    const why = redactSecrets(parse(FreeText, reason, 'lock reason'));
    const who = parse(Actor, actor, 'actor');
    return this.transaction(async (c) => {
      const { rows } = await c.query(
        'UPDATE hosts SET locked = true, locked_reason = $2, updated_at = now() WHERE id = $1 RETURNING *',
        [hostId, why],
      );
      if (!rows[0]) throw new HostNotFoundError(hostId);
      await insertAudit(c, { actor: who, action: 'host.locked', hostId, details: { reason: why } });
      return toHost(rows[0] as Row);
    });
  }

  async unlockHost(hostId: string, actor: string): Promise<Host> {
    const who = parse(Actor, actor, 'actor');
    return this.transaction(async (c) => {
      const before = await c.query('SELECT locked, locked_reason FROM hosts WHERE id = $1 FOR UPDATE', [hostId]);
      if (!before.rows[0]) throw new HostNotFoundError(hostId);
      const { rows } = await c.query(
        'UPDATE hosts SET locked = false, locked_reason = NULL, updated_at = now() WHERE id = $1 RETURNING *',
        [hostId],
      );
      const prev = before.rows[0] as Row;
      await insertAudit(c, {
        actor: who,
        action: 'host.unlocked',
        hostId,
        details: { wasLocked: prev.locked === true, previousReason: strOrNull(prev.locked_reason) },
      });
      return toHost(rows[0] as Row);
    });
  }

  // ------------------------------------------------------------ releases

  async upsertRelease(input: UpsertReleaseInput): Promise<Release> {
    const r = parse(UpsertReleaseInput, input, 'release');
    if (r.requires.includes(r.version)) throw new InvalidRegistryInputError(`release ${r.version} cannot require itself`);
    const { rows } = await this.pool.query(
      `INSERT INTO releases (version, destructive, requires, notes) VALUES ($1, $2, $3::text[], $4)
       ON CONFLICT (version) DO UPDATE SET
         destructive = EXCLUDED.destructive, requires = EXCLUDED.requires, notes = EXCLUDED.notes
       RETURNING *`,
      [r.version, r.destructive, r.requires, r.notes],
    );
    return toRelease(rows[0] as Row);
  }

  async getRelease(version: string): Promise<Release | null> {
    const { rows } = await this.pool.query('SELECT * FROM releases WHERE version = $1', [version]);
    return rows[0] ? toRelease(rows[0] as Row) : null;
  }

  async listReleases(): Promise<Release[]> {
    // Numeric ordering of the x.y.z core; text order would put 1.10.0 before 1.9.0.
    const { rows } = await this.pool.query(
      `SELECT * FROM releases
        ORDER BY string_to_array(regexp_replace(version, '^v?([0-9.]+).*$', '\\1'), '.')::int[], version`,
    );
    return rows.map(toRelease);
  }

  // ------------------------------------------------------------ rollouts

  async createRollout(input: CreateRolloutInput): Promise<Rollout> {
    const r = parse(CreateRolloutInput, input, 'rollout');
    try {
      const ins = await this.pool.query(
        `INSERT INTO rollouts (id, fleet_id, target_version, status, failure_policy, plan, execution_arn)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
         ON CONFLICT (id) DO NOTHING RETURNING *`,
        [r.id, r.fleetId, r.targetVersion, r.status, r.failurePolicy, JSON.stringify(r.plan), r.executionArn],
      );
      if (ins.rows[0]) return toRollout(ins.rows[0] as Row);
    } catch (err) {
      if (pgCode(err).code === '23503') throw new FleetNotFoundError(r.fleetId);
      throw err;
    }
    const existing = await this.getRollout(r.id);
    if (existing.fleetId !== r.fleetId || existing.targetVersion !== r.targetVersion) {
      throw new InvalidRegistryInputError(
        `rollout ${r.id} already exists for fleet ${existing.fleetId} → ${existing.targetVersion}`,
      );
    }
    return existing;
  }

  async getRollout(rolloutId: string): Promise<Rollout> {
    const { rows } = await this.pool.query('SELECT * FROM rollouts WHERE id = $1', [rolloutId]);
    if (!rows[0]) throw new RolloutNotFoundError(rolloutId);
    return toRollout(rows[0] as Row);
  }

  async updateRolloutStatus(rolloutId: string, status: string, executionArn?: string | null): Promise<Rollout> {
    const s = parse(z.string().min(1).max(64), status, 'rollout status');
    const { rows } = await this.pool.query(
      `UPDATE rollouts SET status = $2,
         execution_arn = CASE WHEN $4::boolean THEN $3 ELSE execution_arn END,
         updated_at = now()
       WHERE id = $1 RETURNING *`,
      [rolloutId, s, executionArn ?? null, executionArn !== undefined],
    );
    if (!rows[0]) throw new RolloutNotFoundError(rolloutId);
    return toRollout(rows[0] as Row);
  }

  async upsertRolloutWave(input: UpsertRolloutWaveInput): Promise<RolloutWave> {
    const w = parse(UpsertRolloutWaveInput, input, 'rollout wave');
    try {
      const { rows } = await this.pool.query(
        `INSERT INTO rollout_waves (rollout_id, wave_index, tier, host_ids, status, failed, succeeded)
         VALUES ($1, $2, $3, $4::text[], $5, $6, $7)
         ON CONFLICT (rollout_id, wave_index) DO UPDATE SET
           tier = EXCLUDED.tier, host_ids = EXCLUDED.host_ids, status = EXCLUDED.status,
           failed = EXCLUDED.failed, succeeded = EXCLUDED.succeeded
         RETURNING *`,
        [w.rolloutId, w.waveIndex, w.tier, w.hostIds, w.status, w.failed, w.succeeded],
      );
      return toWave(rows[0] as Row);
    } catch (err) {
      if (pgCode(err).code === '23503') throw new RolloutNotFoundError(w.rolloutId);
      throw err;
    }
  }

  async listRolloutWaves(rolloutId: string): Promise<RolloutWave[]> {
    const { rows } = await this.pool.query('SELECT * FROM rollout_waves WHERE rollout_id = $1 ORDER BY wave_index', [
      rolloutId,
    ]);
    return rows.map(toWave);
  }

  // ------------------------------------------------------------ leases

  async acquireLease(hostId: string, holder: string, ttlSeconds: number): Promise<LeaseGrant> {
    const id = parse(HostId, hostId, 'host id');
    const who = parse(LeaseHolder, holder, 'lease holder');
    const ttl = parse(LeaseTtlSeconds, ttlSeconds, 'lease ttl');
    return this.transaction(async (c) => {
      // Host row first, then lease row: the one lock order every lease path uses.
      const host = await c.query('SELECT locked, locked_reason FROM hosts WHERE id = $1 FOR UPDATE', [id]);
      const h = host.rows[0] as Row | undefined;
      if (!h) throw new HostNotFoundError(id);
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
    return this.transaction(async (c) => {
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
    await this.transaction(async (c) => {
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
    await this.transaction(async (c) => {
      await assertLease(c, hostId, t);
    });
  }

  async getLease(hostId: string): Promise<Lease | null> {
    const { rows } = await this.pool.query(
      'SELECT host_id, token, holder, acquired_at, expires_at, expires_at <= now() AS expired FROM host_leases WHERE host_id = $1',
      [hostId],
    );
    const r = rows[0] as Row | undefined;
    if (!r) return null;
    return {
      hostId: str(r.host_id),
      token: num(r.token),
      holder: str(r.holder),
      acquiredAt: ms(r.acquired_at),
      expiresAt: ms(r.expires_at),
      expired: r.expired === true,
    };
  }

  // ------------------------------------------------------------ runs

  async createRun(input: CreateRunInput): Promise<HostRun> {
    const run = parse(CreateRunInput, input, 'run');
    const sameRun = (existing: HostRun): HostRun => {
      const mismatch = (
        [
          ['hostId', existing.hostId, run.hostId],
          ['kind', existing.kind, run.kind],
          ['targetVersion', existing.targetVersion, run.targetVersion],
          ['rolloutId', existing.rolloutId, run.rolloutId],
          ['leaseToken', existing.leaseToken, run.leaseToken],
        ] as const
      ).filter(([, a, b]) => a !== b);
      if (mismatch.length > 0) {
        throw new RunConflictError(
          `run ${run.id} already exists with different ${mismatch.map(([k]) => k).join(', ')}`,
        );
      }
      return existing;
    };
    return this.transaction(async (c) => {
      const found = await c.query('SELECT * FROM host_runs WHERE id = $1', [run.id]);
      if (found.rows[0]) return sameRun(toRun(found.rows[0] as Row));
      await assertLease(c, run.hostId, run.leaseToken);
      let inserted: pg.QueryResult;
      try {
        inserted = await c.query(
          `INSERT INTO host_runs (id, host_id, rollout_id, kind, from_version, target_version, lease_token, execution_arn)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (id) DO NOTHING RETURNING *`,
          [run.id, run.hostId, run.rolloutId, run.kind, run.fromVersion, run.targetVersion, run.leaseToken, run.executionArn],
        );
      } catch (err) {
        if (pgCode(err).code === '23503' && run.rolloutId) throw new RolloutNotFoundError(run.rolloutId);
        throw err;
      }
      if (!inserted.rows[0]) {
        // A concurrent retry inserted it between our read and write.
        const again = await c.query('SELECT * FROM host_runs WHERE id = $1', [run.id]);
        return sameRun(toRun(again.rows[0] as Row));
      }
      const created = toRun(inserted.rows[0] as Row);
      await insertAudit(c, {
        actor: run.executionArn ?? SYSTEM_ACTOR,
        action: 'run.started',
        hostId: run.hostId,
        rolloutId: run.rolloutId,
        runId: run.id,
        details: { kind: run.kind, fromVersion: run.fromVersion, targetVersion: run.targetVersion, leaseToken: run.leaseToken },
      });
      return created;
    });
  }

  async getRun(runId: string): Promise<HostRun> {
    const id = parse(Uuid, runId, 'run id');
    const { rows } = await this.pool.query('SELECT * FROM host_runs WHERE id = $1', [id]);
    if (!rows[0]) throw new RunNotFoundError(id);
    return toRun(rows[0] as Row);
  }

  async listRuns(filter: { hostId?: string; rolloutId?: string; limit?: number } = {}): Promise<HostRun[]> {
    const limit = parse(Limit, filter.limit ?? 100, 'limit');
    const { rows } = await this.pool.query(
      `SELECT * FROM host_runs
        WHERE ($1::text IS NULL OR host_id = $1) AND ($2::text IS NULL OR rollout_id = $2)
        ORDER BY started_at DESC, id DESC LIMIT $3`,
      [filter.hostId ?? null, filter.rolloutId ?? null, limit],
    );
    return rows.map(toRun);
  }

  /** Loads a run for a fenced write: the run must belong to this lease, and the lease must be current. */
  private async lockRunForWrite(c: Db, runId: string, token: number): Promise<HostRun> {
    const { rows } = await c.query('SELECT * FROM host_runs WHERE id = $1 FOR UPDATE', [runId]);
    if (!rows[0]) throw new RunNotFoundError(runId);
    const run = toRun(rows[0] as Row);
    if (run.leaseToken !== token) {
      // A run belongs to the lease that created it; a later lease starts its own run.
      throw new StaleLeaseError(run.hostId, token, `run ${runId} belongs to lease token ${run.leaseToken}`);
    }
    return run;
  }

  async recordStep(runId: string, leaseToken: number, step: RecordStepInput): Promise<RecordStepResult> {
    const id = parse(Uuid, runId, 'run id');
    const t = parse(LeaseToken, leaseToken, 'lease token');
    const s = parse(RecordStepInput, step, 'step outcome');
    return this.transaction(async (c) => {
      const run = await this.lockRunForWrite(c, id, t);
      await assertLease(c, run.hostId, t);
      if (run.status !== 'running') {
        throw new RunAlreadyFinishedError(`run ${id} already finished (${run.status}); step ${s.step} not recorded`);
      }
      // Overwrite only on a new command or a real status change. A late
      // Pending for a command already recorded as terminal is ignored: polls
      // of one command can land out of order when a Lambda is retried.
      const { rows } = await c.query(
        `INSERT INTO run_steps (run_id, step, command_id, status, result, error, message, output_uri)
         VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8)
         ON CONFLICT (run_id, step) DO UPDATE SET
           command_id = EXCLUDED.command_id, status = EXCLUDED.status, result = EXCLUDED.result,
           error = EXCLUDED.error, message = EXCLUDED.message, output_uri = EXCLUDED.output_uri,
           recorded_at = now()
         WHERE run_steps.command_id IS DISTINCT FROM EXCLUDED.command_id
            OR (run_steps.status IS DISTINCT FROM EXCLUDED.status
                AND NOT (run_steps.status <> 'Pending' AND EXCLUDED.status = 'Pending'))
         RETURNING *`,
        [
          id,
          s.step,
          s.commandId,
          s.status,
          s.result == null ? null : JSON.stringify(redactDeep(s.result)),
          s.error == null ? null : redactSecrets(s.error),
          s.message == null ? null : redactSecrets(s.message),
          s.outputUri,
        ],
      );
      if (rows[0]) return { changed: true, step: toStep(rows[0] as Row) };
      const existing = await c.query('SELECT * FROM run_steps WHERE run_id = $1 AND step = $2', [id, s.step]);
      return { changed: false, step: toStep(existing.rows[0] as Row) };
    });
  }

  async listSteps(runId: string): Promise<RunStep[]> {
    const id = parse(Uuid, runId, 'run id');
    const { rows } = await this.pool.query('SELECT * FROM run_steps WHERE run_id = $1 ORDER BY recorded_at, step', [id]);
    return rows.map(toStep);
  }

  async finishRun(runId: string, leaseToken: number, result: FinishRunInput): Promise<HostRun> {
    const id = parse(Uuid, runId, 'run id');
    const t = parse(LeaseToken, leaseToken, 'lease token');
    const r = parse(FinishRunInput, result, 'run result');
    return this.transaction(async (c) => {
      const { rows: found } = await c.query('SELECT * FROM host_runs WHERE id = $1 FOR UPDATE', [id]);
      if (!found[0]) throw new RunNotFoundError(id);
      const existing = toRun(found[0] as Row);
      if (existing.status !== 'running') {
        // Checked before the lease on purpose: the finishing task releases the
        // lease next, and its retry must still see success.
        if (existing.status === r.status && existing.outcome === r.outcome && existing.failedStep === r.failedStep) {
          return existing;
        }
        throw new RunAlreadyFinishedError(
          `run ${id} already finished as ${existing.status}/${existing.outcome ?? '-'}; refusing ${r.status}/${r.outcome}`,
        );
      }
      if (existing.leaseToken !== t) {
        throw new StaleLeaseError(existing.hostId, t, `run ${id} belongs to lease token ${existing.leaseToken}`);
      }
      const run = existing;
      await assertLease(c, run.hostId, t);
      const { rows } = await c.query(
        `UPDATE host_runs SET status = $2, outcome = $3, failed_step = $4, command_id = $5, output_uri = $6,
           message = $7, finished_at = now()
         WHERE id = $1 RETURNING *`,
        [id, r.status, r.outcome, r.failedStep, r.commandId, r.outputUri, r.message == null ? null : redactSecrets(r.message)],
      );
      const finished = toRun(rows[0] as Row);
      await insertAudit(c, {
        actor: run.executionArn ?? SYSTEM_ACTOR,
        action: 'run.finished',
        hostId: run.hostId,
        rolloutId: run.rolloutId,
        runId: id,
        details: { kind: run.kind, status: r.status, outcome: r.outcome, failedStep: r.failedStep, targetVersion: run.targetVersion },
      });
      return finished;
    });
  }

  // ------------------------------------------------------------ backups

  async createBackup(input: CreateBackupInput): Promise<Backup> {
    const b = parse(CreateBackupInput, input, 'backup');
    let inserted: pg.QueryResult;
    try {
      inserted = await this.pool.query(
        `INSERT INTO backups (id, host_id, run_id, version, mode, data_key, data_format, config_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO NOTHING RETURNING *`,
        [b.id, b.hostId, b.runId, b.version, b.mode, b.dataKey, b.dataFormat, b.configKey],
      );
    } catch (err) {
      const { code, constraint } = pgCode(err);
      if (code === '23503' && constraint === 'backups_run_id_fkey' && b.runId) throw new RunNotFoundError(b.runId);
      if (code === '23503') throw new HostNotFoundError(b.hostId);
      throw err;
    }
    if (inserted.rows[0]) return toBackup(inserted.rows[0] as Row);
    const existing = await this.getBackup(b.id);
    if (existing.hostId !== b.hostId || existing.dataKey !== b.dataKey || existing.configKey !== b.configKey) {
      throw new BackupStateError(`backup id ${b.id} already exists for other objects (host ${existing.hostId})`);
    }
    return existing;
  }

  async markBackupVerified(backupId: string, leaseToken: number, details: BackupVerification): Promise<Backup> {
    const id = parse(Uuid, backupId, 'backup id');
    const t = parse(LeaseToken, leaseToken, 'lease token');
    const d = parse(BackupVerification, details, 'backup verification');
    return this.transaction(async (c) => {
      const { rows: found } = await c.query('SELECT * FROM backups WHERE id = $1 FOR UPDATE', [id]);
      if (!found[0]) throw new BackupNotFoundError(id);
      const b = toBackup(found[0] as Row);
      if (b.status === 'verified') {
        if (b.dataSha256 === d.dataSha256 && b.dataBytes === d.dataBytes && b.configSha256 === d.configSha256) return b;
        throw new BackupStateError(`backup ${id} is already verified with other checksums`);
      }
      if (b.status === 'failed') {
        throw new BackupStateError(`backup ${id} failed (${b.failure ?? 'no reason'}) and cannot become verified`);
      }
      await assertLease(c, b.hostId, t);
      const { rows } = await c.query(
        `UPDATE backups SET status = 'verified', data_bytes = $2, data_sha256 = $3, data_entries = $4,
           config_bytes = $5, config_sha256 = $6, verified_at = now()
         WHERE id = $1 RETURNING *`,
        [id, d.dataBytes, d.dataSha256, d.dataEntries, d.configBytes, d.configSha256],
      );
      await insertAudit(c, {
        actor: SYSTEM_ACTOR,
        action: 'backup.verified',
        hostId: b.hostId,
        runId: b.runId,
        details: { backupId: id, version: b.version, dataBytes: d.dataBytes, dataSha256: d.dataSha256 },
      });
      return toBackup(rows[0] as Row);
    });
  }

  async markBackupFailed(backupId: string, reason: string): Promise<Backup> {
    const id = parse(Uuid, backupId, 'backup id');
    const why = redactSecrets(parse(FreeText, reason, 'failure reason'));
    return this.transaction(async (c) => {
      const { rows: found } = await c.query('SELECT * FROM backups WHERE id = $1 FOR UPDATE', [id]);
      if (!found[0]) throw new BackupNotFoundError(id);
      const b = toBackup(found[0] as Row);
      if (b.status === 'failed') return b; // retried: keep the first reason
      if (b.status === 'verified') {
        // Restores re-verify by download anyway; letting a late, unfenced
        // failure demote a good backup would hide the newest restore point.
        throw new BackupStateError(`backup ${id} is verified and cannot be marked failed`);
      }
      const { rows } = await c.query(`UPDATE backups SET status = 'failed', failure = $2 WHERE id = $1 RETURNING *`, [id, why]);
      await insertAudit(c, {
        actor: SYSTEM_ACTOR,
        action: 'backup.failed',
        hostId: b.hostId,
        runId: b.runId,
        details: { backupId: id, reason: why },
      });
      return toBackup(rows[0] as Row);
    });
  }

  async getBackup(backupId: string): Promise<Backup> {
    const id = parse(Uuid, backupId, 'backup id');
    const { rows } = await this.pool.query('SELECT * FROM backups WHERE id = $1', [id]);
    if (!rows[0]) throw new BackupNotFoundError(id);
    return toBackup(rows[0] as Row);
  }

  async listBackups(hostId: string): Promise<Backup[]> {
    const { rows } = await this.pool.query('SELECT * FROM backups WHERE host_id = $1 ORDER BY created_at DESC, id DESC', [
      hostId,
    ]);
    return rows.map(toBackup);
  }

  async latestVerifiedBackup(hostId: string, filter: LatestVerifiedBackupFilter = {}): Promise<Backup | null> {
    const version = filter.version === undefined ? null : parse(Version, filter.version, 'version');
    const before = filter.before === undefined ? null : new Date(parse(z.number().int(), filter.before, 'before'));
    const { rows } = await this.pool.query(
      `SELECT * FROM backups
        WHERE host_id = $1 AND status = 'verified'
          AND ($2::text IS NULL OR version = $2)
          AND ($3::timestamptz IS NULL OR created_at < $3)
        ORDER BY created_at DESC, id DESC LIMIT 1`,
      [hostId, version, before],
    );
    return rows[0] ? toBackup(rows[0] as Row) : null;
  }

  // ------------------------------------------------------------ audit

  async appendAudit(input: AppendAuditInput): Promise<AuditEntry> {
    const a = parse(AppendAuditInput, input, 'audit entry');
    return insertAudit(this.pool, a);
  }

  async listAudit(filter: ListAuditFilter = {}): Promise<AuditEntry[]> {
    const limit = parse(Limit, filter.limit ?? 100, 'limit');
    const hostId = filter.hostId === undefined ? null : parse(HostId, filter.hostId, 'host id');
    const runId = filter.runId === undefined ? null : parse(Uuid, filter.runId, 'run id');
    const rolloutId = filter.rolloutId === undefined ? null : parse(RolloutId, filter.rolloutId, 'rollout id');
    const { rows } = await this.pool.query(
      `SELECT * FROM audit_log
        WHERE ($1::text IS NULL OR host_id = $1) AND ($2::uuid IS NULL OR run_id = $2)
          AND ($3::text IS NULL OR rollout_id = $3)
        ORDER BY id DESC LIMIT $4`,
      [hostId, runId, rolloutId, limit],
    );
    return rows.map(toAudit);
  }

  // ------------------------------------------------------------ compliance

  async createComplianceCheck(input: CreateComplianceCheckInput): Promise<ComplianceCheck> {
    const c = parse(CreateComplianceCheckInput, input, 'compliance check');
    try {
      await this.pool.query(
        `INSERT INTO compliance_checks (id, fleet_id, execution_arn, host_count) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO NOTHING`,
        [c.id, c.fleetId, c.executionArn, c.hostCount],
      );
    } catch (err) {
      if (pgCode(err).code === '23503') throw new FleetNotFoundError(c.fleetId ?? '');
      throw err;
    }
    return (await this.getComplianceCheck(c.id))!;
  }

  async getComplianceCheck(checkId: string): Promise<ComplianceCheck | null> {
    const id = parse(Uuid, checkId, 'check id');
    const { rows } = await this.pool.query('SELECT * FROM compliance_checks WHERE id = $1', [id]);
    return rows[0] ? toComplianceCheck(rows[0] as Row) : null;
  }

  async completeComplianceCheck(
    checkId: string,
    input: CompleteComplianceCheckInput,
  ): Promise<{ check: ComplianceCheck; changed: boolean }> {
    const id = parse(Uuid, checkId, 'check id');
    const d = parse(CompleteComplianceCheckInput, input, 'compliance results');
    return this.transaction(async (c) => {
      const { rows: found } = await c.query('SELECT * FROM compliance_checks WHERE id = $1 FOR UPDATE', [id]);
      if (!found[0]) throw new InvalidRegistryInputError(`no compliance check ${id}`);
      const existing = toComplianceCheck(found[0] as Row);
      if (existing.status === 'completed') return { check: existing, changed: false };
      // One multi-row insert per chunk keeps a large fleet to a few round trips.
      for (let i = 0; i < d.results.length; i += 500) {
        const chunk = d.results.slice(i, i + 500);
        const values: unknown[] = [];
        const tuples = chunk.map((r, n) => {
          values.push(
            id, r.hostId, r.fleetId, r.instanceId, r.state, r.reasons, r.unknownCause,
            r.details.map((x) => redactSecrets(x)), r.desiredVersion, r.runningVersion,
            JSON.stringify(r.running), JSON.stringify(r.pinned),
          );
          const b = n * 12;
          return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}::text[], $${b + 7}, $${b + 8}::text[], $${b + 9}, $${b + 10}, $${b + 11}::jsonb, $${b + 12}::jsonb)`;
        });
        await c.query(
          `INSERT INTO compliance_results (check_id, host_id, fleet_id, instance_id, state, reasons, unknown_cause, details,
             desired_version, running_version, running, pinned)
           VALUES ${tuples.join(', ')} ON CONFLICT (check_id, host_id) DO NOTHING`,
          values,
        );
      }
      const compliant = d.results.filter((r) => r.state === 'COMPLIANT').length;
      const unknown = d.results.filter((r) => r.state === 'UNKNOWN').length;
      const drift = Object.fromEntries(Object.entries(d.drift).map(([fleet, event]) => [fleet, { event, notifiedAt: null }]));
      const { rows } = await c.query(
        `UPDATE compliance_checks SET status = 'completed', finished_at = now(), host_count = $2, compliant = $3,
           non_compliant = $4, unknown = $5, report_key = $6, drift = $7::jsonb, message = NULL
         WHERE id = $1 RETURNING *`,
        [id, d.results.length, compliant, d.results.length - compliant, unknown, d.reportKey, JSON.stringify(drift)],
      );
      return { check: toComplianceCheck(rows[0] as Row), changed: true };
    });
  }

  async failComplianceCheck(checkId: string, message: string): Promise<ComplianceCheck | null> {
    const id = parse(Uuid, checkId, 'check id');
    const why = redactSecrets(parse(FreeText, message, 'failure message'));
    await this.pool.query(
      `UPDATE compliance_checks SET status = 'failed', finished_at = now(), message = $2 WHERE id = $1 AND status = 'running'`,
      [id, why],
    );
    return this.getComplianceCheck(id);
  }

  async latestComplianceCheck(filter: { fleetId?: string; before?: string } = {}): Promise<ComplianceCheck | null> {
    const fleetId = filter.fleetId === undefined ? null : parse(FleetId, filter.fleetId, 'fleet id');
    const before = filter.before === undefined ? null : parse(Uuid, filter.before, 'check id');
    const { rows } = await this.pool.query(
      `SELECT c.* FROM compliance_checks c
        WHERE c.status = 'completed'
          AND ($1::text IS NULL OR EXISTS (SELECT 1 FROM compliance_results r WHERE r.check_id = c.id AND r.fleet_id = $1))
          AND ($2::uuid IS NULL OR (c.id <> $2 AND c.finished_at <= (SELECT coalesce(finished_at, now()) FROM compliance_checks WHERE id = $2)))
        ORDER BY c.finished_at DESC, c.started_at DESC LIMIT 1`,
      [fleetId, before],
    );
    return rows[0] ? toComplianceCheck(rows[0] as Row) : null;
  }

  async listComplianceResults(checkId: string, filter: { fleetId?: string } = {}): Promise<ComplianceResult[]> {
    const id = parse(Uuid, checkId, 'check id');
    const fleetId = filter.fleetId === undefined ? null : parse(FleetId, filter.fleetId, 'fleet id');
    const { rows } = await this.pool.query(
      `SELECT * FROM compliance_results WHERE check_id = $1 AND ($2::text IS NULL OR fleet_id = $2) ORDER BY fleet_id, host_id`,
      [id, fleetId],
    );
    return rows.map(toComplianceResult);
  }

  async complianceCounts(checkId: string): Promise<ComplianceFleetCounts[]> {
    const id = parse(Uuid, checkId, 'check id');
    const { rows } = await this.pool.query(
      `SELECT fleet_id, count(*) AS hosts,
              count(*) FILTER (WHERE state = 'COMPLIANT') AS compliant,
              count(*) FILTER (WHERE state <> 'COMPLIANT') AS non_compliant,
              count(*) FILTER (WHERE state = 'UNKNOWN') AS unknown
         FROM compliance_results WHERE check_id = $1 GROUP BY fleet_id ORDER BY fleet_id`,
      [id],
    );
    return rows.map((r: Row) => ({
      fleetId: str(r.fleet_id),
      hosts: num(r.hosts),
      compliant: num(r.compliant),
      nonCompliant: num(r.non_compliant),
      unknown: num(r.unknown),
    }));
  }

  async markComplianceNotified(checkId: string, fleetId: string): Promise<void> {
    const id = parse(Uuid, checkId, 'check id');
    const fleet = parse(FleetId, fleetId, 'fleet id');
    await this.pool.query(
      `UPDATE compliance_checks
          SET drift = jsonb_set(drift, ARRAY[$2::text, 'notifiedAt'], to_jsonb((extract(epoch FROM now()) * 1000)::bigint))
        WHERE id = $1 AND drift ? $2 AND (drift -> $2 ->> 'notifiedAt') IS NULL`,
      [id, fleet],
    );
  }
}

// compliance row mappers

function toComplianceCheck(r: Row): ComplianceCheck {
  const drift = (r.drift as ComplianceCheck['drift'] | null) ?? {};
  return {
    id: str(r.id),
    fleetId: strOrNull(r.fleet_id),
    executionArn: strOrNull(r.execution_arn),
    status: r.status as ComplianceCheck['status'],
    hostCount: num(r.host_count),
    compliant: numOrNull(r.compliant),
    nonCompliant: numOrNull(r.non_compliant),
    unknown: numOrNull(r.unknown),
    reportKey: strOrNull(r.report_key),
    message: strOrNull(r.message),
    drift: Object.fromEntries(
      Object.entries(drift).map(([k, v]) => [k, { event: v.event, notifiedAt: v.notifiedAt == null ? null : Number(v.notifiedAt) }]),
    ),
    startedAt: ms(r.started_at),
    finishedAt: msOrNull(r.finished_at),
  };
}

function toComplianceResult(r: Row): ComplianceResult {
  return {
    checkId: str(r.check_id),
    hostId: str(r.host_id),
    fleetId: str(r.fleet_id),
    instanceId: str(r.instance_id),
    state: r.state as ComplianceResult['state'],
    reasons: (r.reasons as ComplianceResult['reasons']) ?? [],
    unknownCause: strOrNull(r.unknown_cause) as ComplianceResult['unknownCause'],
    details: (r.details as string[]) ?? [],
    desiredVersion: strOrNull(r.desired_version),
    runningVersion: strOrNull(r.running_version),
    running: (r.running as Record<string, string | null>) ?? {},
    pinned: (r.pinned as Record<string, string | null>) ?? {},
    recordedAt: ms(r.recorded_at),
  };
}
