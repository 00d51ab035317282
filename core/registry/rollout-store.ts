/**
 * The rollout side of the registry (tables from migration 002): rollouts with
 * their attempt counter and approval token, waves with their failure budget,
 * and each host's result in a rollout. Kept apart from pg-store.ts because it
 * is the fleet workflows' concern only.
 */
import type pg from 'pg';
import { RolloutNotFoundError } from './errors';
import { redactSecrets } from '../redact';

export type RolloutHostResult = 'succeeded' | 'failed' | 'unreachable' | 'refused' | 'rolled-back' | 'rollback-failed';
export type FailurePolicy = 'halt' | 'rollback-wave' | 'rollback-all';

export interface RolloutRecord {
  id: string;
  fleetId: string;
  targetVersion: string;
  status: string;
  failurePolicy: FailurePolicy;
  attempt: number;
  allowDestructive: boolean;
  concurrency: number;
  approvalToken: string | null;
  approvedBy: string | null;
  executionArn: string | null;
  plan: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export interface WaveRecord {
  rolloutId: string;
  index: number;
  name: string;
  tier: 'staging' | 'production';
  hostIds: string[];
  status: string;
  failed: number;
  succeeded: number;
  maxFailures: number;
}

export interface RolloutHostRecord {
  rolloutId: string;
  hostId: string;
  waveIndex: number;
  attempt: number;
  result: RolloutHostResult;
  outcome: string | null;
  message: string | null;
  executionArn: string | null;
  updatedAt: number;
}

type Row = Record<string, any>;
const ms = (d: Date | null | undefined) => (d ? d.getTime() : 0);

const toRollout = (r: Row): RolloutRecord => ({
  id: r.id,
  fleetId: r.fleet_id,
  targetVersion: r.target_version,
  status: r.status,
  failurePolicy: r.failure_policy,
  attempt: r.attempt,
  allowDestructive: r.allow_destructive,
  concurrency: r.concurrency,
  approvalToken: r.approval_token,
  approvedBy: r.approved_by,
  executionArn: r.execution_arn,
  plan: r.plan ?? {},
  createdAt: ms(r.created_at),
  updatedAt: ms(r.updated_at),
});
const toWave = (r: Row): WaveRecord => ({
  rolloutId: r.rollout_id,
  index: r.wave_index,
  name: r.name,
  tier: r.tier,
  hostIds: r.host_ids,
  status: r.status,
  failed: r.failed,
  succeeded: r.succeeded,
  maxFailures: r.max_failures,
});
const toHost = (r: Row): RolloutHostRecord => ({
  rolloutId: r.rollout_id,
  hostId: r.host_id,
  waveIndex: r.wave_index,
  attempt: r.attempt,
  result: r.result,
  outcome: r.outcome,
  message: r.message,
  executionArn: r.execution_arn,
  updatedAt: ms(r.updated_at),
});

export class PgRolloutStore {
  constructor(private readonly pool: pg.Pool) {}

  async find(rolloutId: string): Promise<RolloutRecord | null> {
    const { rows } = await this.pool.query('SELECT * FROM rollouts WHERE id = $1', [rolloutId]);
    return rows[0] ? toRollout(rows[0]) : null;
  }

  async get(rolloutId: string): Promise<RolloutRecord> {
    const r = await this.find(rolloutId);
    if (!r) throw new RolloutNotFoundError(rolloutId);
    return r;
  }

  async list(fleetId?: string): Promise<RolloutRecord[]> {
    const { rows } = await this.pool.query(
      'SELECT * FROM rollouts WHERE ($1::text IS NULL OR fleet_id = $1) ORDER BY created_at DESC LIMIT 100',
      [fleetId ?? null],
    );
    return rows.map(toRollout);
  }

  /**
   * Create the rollout with its waves, or, when it exists, start its next
   * attempt (the waves never change once planned). Returns the record after.
   */
  async createOrResume(input: {
    id: string;
    fleetId: string;
    targetVersion: string;
    failurePolicy: FailurePolicy;
    allowDestructive: boolean;
    concurrency: number;
    executionArn: string;
    plan: Record<string, unknown>;
    waves: { index: number; name: string; tier: string; hostIds: string[]; maxFailures: number }[];
  }): Promise<{ rollout: RolloutRecord; resumed: boolean }> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const existing = await client.query('SELECT * FROM rollouts WHERE id = $1 FOR UPDATE', [input.id]);
      let row: Row;
      let resumed = false;
      if (existing.rows[0]) {
        const cur = existing.rows[0] as Row;
        if (cur.target_version !== input.targetVersion) {
          throw new Error(`rollout ${input.id} targets ${cur.target_version}, not ${input.targetVersion}`);
        }
        if (cur.execution_arn === input.executionArn) {
          row = cur; // a retried plan task of the same execution
        } else {
          resumed = true;
          const upd = await client.query(
            `UPDATE rollouts SET attempt = attempt + 1, status = 'running', execution_arn = $2, approval_token = NULL,
               allow_destructive = $3, updated_at = now() WHERE id = $1 RETURNING *`,
            [input.id, input.executionArn, input.allowDestructive],
          );
          row = upd.rows[0] as Row;
          await client.query(`UPDATE rollout_waves SET status = 'pending' WHERE rollout_id = $1 AND status <> 'succeeded'`, [input.id]);
        }
      } else {
        const ins = await client.query(
          `INSERT INTO rollouts (id, fleet_id, target_version, status, failure_policy, plan, execution_arn, attempt, allow_destructive, concurrency)
           VALUES ($1, $2, $3, 'running', $4, $5::jsonb, $6, 1, $7, $8) RETURNING *`,
          [input.id, input.fleetId, input.targetVersion, input.failurePolicy, JSON.stringify(input.plan), input.executionArn, input.allowDestructive, input.concurrency],
        );
        row = ins.rows[0] as Row;
        for (const w of input.waves) {
          await client.query(
            `INSERT INTO rollout_waves (rollout_id, wave_index, tier, host_ids, status, name, max_failures)
             VALUES ($1, $2, $3, $4::text[], 'pending', $5, $6)`,
            [input.id, w.index, w.tier, w.hostIds, w.name, w.maxFailures],
          );
        }
      }
      await client.query('COMMIT');
      return { rollout: toRollout(row), resumed };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async setStatus(rolloutId: string, status: string): Promise<void> {
    await this.pool.query('UPDATE rollouts SET status = $2, approval_token = NULL, updated_at = now() WHERE id = $1', [rolloutId, status]);
  }

  async setApprovalToken(rolloutId: string, token: string): Promise<void> {
    await this.pool.query(`UPDATE rollouts SET approval_token = $2, status = 'awaiting-approval', updated_at = now() WHERE id = $1`, [rolloutId, token]);
  }

  async markApproved(rolloutId: string, by: string): Promise<void> {
    await this.pool.query(
      `UPDATE rollouts SET approval_token = NULL, approved_by = $2, approved_at = now(), status = 'running', updated_at = now() WHERE id = $1`,
      [rolloutId, by],
    );
  }

  async waves(rolloutId: string): Promise<WaveRecord[]> {
    const { rows } = await this.pool.query('SELECT * FROM rollout_waves WHERE rollout_id = $1 ORDER BY wave_index', [rolloutId]);
    return rows.map(toWave);
  }

  async wave(rolloutId: string, index: number): Promise<WaveRecord> {
    const { rows } = await this.pool.query('SELECT * FROM rollout_waves WHERE rollout_id = $1 AND wave_index = $2', [rolloutId, index]);
    if (!rows[0]) throw new RolloutNotFoundError(`${rolloutId} wave ${index}`);
    return toWave(rows[0]);
  }

  async updateWave(rolloutId: string, index: number, patch: { status: string; failed: number; succeeded: number }): Promise<void> {
    await this.pool.query('UPDATE rollout_waves SET status = $3, failed = $4, succeeded = $5 WHERE rollout_id = $1 AND wave_index = $2', [
      rolloutId,
      index,
      patch.status,
      patch.failed,
      patch.succeeded,
    ]);
  }

  async hosts(rolloutId: string, waveIndex?: number): Promise<RolloutHostRecord[]> {
    const { rows } = await this.pool.query(
      'SELECT * FROM rollout_hosts WHERE rollout_id = $1 AND ($2::int IS NULL OR wave_index = $2) ORDER BY host_id',
      [rolloutId, waveIndex ?? null],
    );
    return rows.map(toHost);
  }

  async recordHost(r: Omit<RolloutHostRecord, 'updatedAt'>): Promise<void> {
    await this.pool.query(
      `INSERT INTO rollout_hosts (rollout_id, host_id, wave_index, attempt, result, outcome, message, execution_arn)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (rollout_id, host_id) DO UPDATE SET wave_index = EXCLUDED.wave_index, attempt = EXCLUDED.attempt,
         result = EXCLUDED.result, outcome = EXCLUDED.outcome, message = EXCLUDED.message,
         execution_arn = EXCLUDED.execution_arn, updated_at = now()`,
      [r.rolloutId, r.hostId, r.waveIndex, r.attempt, r.result, r.outcome, r.message ? redactSecrets(r.message).slice(0, 2000) : null, r.executionArn],
    );
  }
}
