/** `RolloutStore` over PostgreSQL (tables rollouts, rollout_waves, rollout_hosts). */
import type pg from 'pg';
import { RolloutId, RolloutStatus } from '../../models';
import { FleetNotFoundError, HostNotFoundError, RolloutConflictError, RolloutNotFoundError } from '../errors';
import { Actor, ExecutionArn, parse } from '../fields';
import { fromRow, pgCode, withTransaction, type Db, type Row } from '../pg';
import {
  RecordRolloutHostInput,
  StartRolloutInput,
  storedMessage,
  TaskToken,
  UpdateRolloutWaveInput,
  type Rollout,
  type RolloutHost,
  type RolloutStore,
  type RolloutWave,
} from './rollout-store';

const toRollout = (r: Row) => fromRow<Rollout>(r);
const toWave = (r: Row) => fromRow<RolloutWave>(r, { rename: { wave_index: 'index' } });
const toRolloutHost = (r: Row) => fromRow<RolloutHost>(r, { rename: { wave_index: 'wave' } });

/** One UPDATE of a rollout row by id; `set` is fixed SQL of this module, values are bound from $2. */
async function updateRollout(db: Db, rolloutId: string, set: string, values: unknown[]): Promise<void> {
  const id = parse(RolloutId, rolloutId, 'rollout id');
  const { rowCount } = await db.query(`UPDATE rollouts SET ${set}, updated_at = now() WHERE id = $1`, [id, ...values]);
  if (!rowCount) throw new RolloutNotFoundError(id);
}

export class PgRolloutStore implements RolloutStore {
  constructor(private readonly pool: pg.Pool) {}

  async startRollout(input: StartRolloutInput): Promise<{ rollout: Rollout; resumed: boolean; previousStatus: RolloutStatus | null }> {
    const r = parse(StartRolloutInput, input, 'rollout');
    return withTransaction(this.pool, async (c) => {
      let inserted: pg.QueryResult;
      try {
        inserted = await c.query(
          `INSERT INTO rollouts (id, fleet_id, target_version, status, failure_policy, plan, execution_arn, attempt, allow_destructive, concurrency)
           VALUES ($1, $2, $3, 'created', $4, $5::jsonb, $6, 1, $7, $8)
           ON CONFLICT (id) DO NOTHING RETURNING *`,
          [r.id, r.fleetId, r.targetVersion, r.failurePolicy, JSON.stringify(r.plan), r.executionArn, r.allowDestructive, r.concurrency],
        );
      } catch (err) {
        if (pgCode(err).code === '23503') throw new FleetNotFoundError(r.fleetId);
        throw err;
      }
      const insertWaves = async () => {
        for (const w of r.waves) {
          await c.query(
            `INSERT INTO rollout_waves (rollout_id, wave_index, tier, host_ids, status, name, max_failures)
             VALUES ($1, $2, $3, $4::text[], 'pending', $5, $6)`,
            [r.id, w.index, w.tier, w.hostIds, w.name, w.maxFailures],
          );
        }
      };
      if (inserted.rows[0]) {
        await insertWaves();
        return { rollout: toRollout(inserted.rows[0] as Row), resumed: false, previousStatus: null };
      }
      // It exists (a concurrent first start waited above until that one committed).
      const { rows } = await c.query('SELECT * FROM rollouts WHERE id = $1 FOR UPDATE', [r.id]);
      const current = toRollout(rows[0] as Row);
      if (current.fleetId !== r.fleetId || current.targetVersion !== r.targetVersion) {
        throw new RolloutConflictError(
          `rollout ${r.id} is fleet ${current.fleetId} → ${current.targetVersion}, not ${r.fleetId} → ${r.targetVersion}`,
        );
      }
      // The same execution again is a retried plan task: its attempt is already started.
      if (current.executionArn === r.executionArn) return { rollout: current, resumed: current.attempt > 1, previousStatus: current.status };
      // consent is the first attempt's: allow_destructive is never updated here
      const resumed = await c.query(
        `UPDATE rollouts SET attempt = attempt + 1, status = 'running', execution_arn = $2, approval_token = NULL,
           updated_at = now() WHERE id = $1 RETURNING *`,
        [r.id, r.executionArn],
      );
      await c.query('DELETE FROM rollout_waves WHERE rollout_id = $1', [r.id]);
      await insertWaves();
      return { rollout: toRollout(resumed.rows[0] as Row), resumed: true, previousStatus: current.status };
    });
  }

  async findRollout(rolloutId: string): Promise<Rollout | null> {
    const { rows } = await this.pool.query('SELECT * FROM rollouts WHERE id = $1', [rolloutId]);
    return rows[0] ? toRollout(rows[0] as Row) : null;
  }

  async getRollout(rolloutId: string): Promise<Rollout> {
    const rollout = await this.findRollout(rolloutId);
    if (!rollout) throw new RolloutNotFoundError(rolloutId);
    return rollout;
  }

  async listRollouts(filter: { fleetId?: string } = {}): Promise<Rollout[]> {
    const { rows } = await this.pool.query(
      'SELECT * FROM rollouts WHERE ($1::text IS NULL OR fleet_id = $1) ORDER BY created_at DESC, id DESC LIMIT 100',
      [filter.fleetId ?? null],
    );
    return rows.map(toRollout);
  }

  async setRolloutStatus(rolloutId: string, status: RolloutStatus, executionArn?: string): Promise<void> {
    const s = parse(RolloutStatus, status, 'rollout status');
    const arn = executionArn === undefined ? null : parse(ExecutionArn, executionArn, 'execution ARN');
    await updateRollout(this.pool, rolloutId, 'status = $2, approval_token = NULL, execution_arn = COALESCE($3, execution_arn)', [s, arn]);
  }

  async requestApproval(rolloutId: string, taskToken: string): Promise<void> {
    const token = parse(TaskToken, taskToken, 'task token');
    await updateRollout(this.pool, rolloutId, `approval_token = $2, status = 'awaiting-approval'`, [token]);
  }

  async approveRollout(rolloutId: string, approvedBy: string): Promise<void> {
    const by = parse(Actor, approvedBy, 'approver');
    await updateRollout(this.pool, rolloutId, `approval_token = NULL, approved_by = $2, approved_at = now(), status = 'running'`, [by]);
  }

  async listRolloutWaves(rolloutId: string): Promise<RolloutWave[]> {
    const { rows } = await this.pool.query('SELECT * FROM rollout_waves WHERE rollout_id = $1 ORDER BY wave_index', [rolloutId]);
    return rows.map(toWave);
  }

  async getRolloutWave(rolloutId: string, index: number): Promise<RolloutWave> {
    const { rows } = await this.pool.query('SELECT * FROM rollout_waves WHERE rollout_id = $1 AND wave_index = $2', [rolloutId, index]);
    if (!rows[0]) throw new RolloutNotFoundError(`${rolloutId} wave ${index}`);
    return toWave(rows[0] as Row);
  }

  async updateRolloutWave(rolloutId: string, index: number, update: UpdateRolloutWaveInput): Promise<void> {
    const u = parse(UpdateRolloutWaveInput, update, 'wave update');
    const { rowCount } = await this.pool.query(
      'UPDATE rollout_waves SET status = $3, failed = $4, succeeded = $5 WHERE rollout_id = $1 AND wave_index = $2',
      [rolloutId, index, u.status, u.failed, u.succeeded],
    );
    if (!rowCount) throw new RolloutNotFoundError(`${rolloutId} wave ${index}`);
  }

  async listRolloutHosts(rolloutId: string, filter: { wave?: number } = {}): Promise<RolloutHost[]> {
    const { rows } = await this.pool.query(
      'SELECT * FROM rollout_hosts WHERE rollout_id = $1 AND ($2::int IS NULL OR wave_index = $2) ORDER BY host_id',
      [rolloutId, filter.wave ?? null],
    );
    return rows.map(toRolloutHost);
  }

  async recordRolloutHost(input: RecordRolloutHostInput): Promise<void> {
    const r = parse(RecordRolloutHostInput, input, 'rollout host result');
    try {
      await this.pool.query(
        `INSERT INTO rollout_hosts (rollout_id, host_id, wave_index, attempt, result, outcome, message, execution_arn)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (rollout_id, host_id) DO UPDATE SET wave_index = EXCLUDED.wave_index, attempt = EXCLUDED.attempt,
           result = EXCLUDED.result, outcome = EXCLUDED.outcome, message = EXCLUDED.message,
           execution_arn = EXCLUDED.execution_arn, updated_at = now()`,
        [r.rolloutId, r.hostId, r.wave, r.attempt, r.result, r.outcome, storedMessage(r.message), r.executionArn],
      );
    } catch (err) {
      const { code, constraint } = pgCode(err);
      if (code === '23503' && constraint === 'rollout_hosts_host_id_fkey') throw new HostNotFoundError(r.hostId);
      if (code === '23503') throw new RolloutNotFoundError(r.rolloutId);
      throw err;
    }
  }

}
