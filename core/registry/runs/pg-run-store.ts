/** `RunStore` over PostgreSQL. */
import type pg from 'pg';
import { insertAudit } from '../audit/pg-audit-store';
import { RolloutNotFoundError, RunAlreadyFinishedError, RunConflictError, RunNotFoundError, StaleLeaseError } from '../errors';
import { Limit, parse, SYSTEM_ACTOR, Uuid } from '../fields';
import { LeaseToken } from '../leases/lease-store';
import { assertLease } from '../leases/pg-lease-store';
import { fromRow, pgCode, withTransaction, type Db, type Row } from '../pg';
import { redactDeep, redactSecrets } from '../../redact';
import {
  CreateRunInput,
  FinishRunInput,
  RecordStepInput,
  type HostRun,
  type RecordStepResult,
  type RunStep,
  type RunStore,
} from './run-store';

const toRun = (r: Row) => fromRow<HostRun>(r, { bigints: ['lease_token'] });
const toStep = (r: Row) => fromRow<RunStep>(r);

/** Loads a run for a fenced write: the run must belong to this lease, and the lease must be current. */
async function lockRunForWrite(c: Db, runId: string, token: number): Promise<HostRun> {
  const { rows } = await c.query('SELECT * FROM host_runs WHERE id = $1 FOR UPDATE', [runId]);
  if (!rows[0]) throw new RunNotFoundError(runId);
  const run = toRun(rows[0] as Row);
  if (run.leaseToken !== token) {
    // A run belongs to the lease that created it; a later lease starts its own run.
    throw new StaleLeaseError(run.hostId, token, `run ${runId} belongs to lease token ${run.leaseToken}`);
  }
  return run;
}

export class PgRunStore implements RunStore {
  constructor(private readonly pool: pg.Pool) {}

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
    return withTransaction(this.pool, async (c) => {
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

  async recordStep(runId: string, leaseToken: number, step: RecordStepInput): Promise<RecordStepResult> {
    const id = parse(Uuid, runId, 'run id');
    const t = parse(LeaseToken, leaseToken, 'lease token');
    const s = parse(RecordStepInput, step, 'step outcome');
    return withTransaction(this.pool, async (c) => {
      const run = await lockRunForWrite(c, id, t);
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
    return withTransaction(this.pool, async (c) => {
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
}
