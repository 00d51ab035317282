/** `StepWaitStore` over PostgreSQL (table step_waits, migration 006). */
import type pg from 'pg';
import { HostRunContext, SentCommand } from '../../models';
import { parse } from '../fields';
import { ms, str, type Row } from '../pg';
import { CloseReason, OpenStepWaitInput, StepTaskToken, type StepWait, type StepWaitStore } from './step-wait-store';

const COLUMNS = 'task_token, run, sent, created_at';

function toWait(r: Row): StepWait {
  return {
    taskToken: str(r.task_token),
    run: parse(HostRunContext, r.run, 'step wait run'),
    sent: parse(SentCommand, r.sent, 'step wait command'),
    createdAt: ms(r.created_at),
  };
}

export class PgStepWaitStore implements StepWaitStore {
  constructor(private readonly pool: pg.Pool) {}

  async openStepWait(input: OpenStepWaitInput): Promise<void> {
    const w = parse(OpenStepWaitInput, input, 'step wait');
    await this.pool.query(
      `INSERT INTO step_waits (task_token, command_id, run_id, host_id, lease_token, step, run, sent)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (task_token) DO NOTHING`,
      [w.taskToken, w.sent.commandId, w.run.runId, w.run.hostId, w.run.leaseToken, w.sent.step, JSON.stringify(w.run), JSON.stringify(w.sent)],
    );
  }

  async listStepWaits(filter: { commandId: string }): Promise<StepWait[]> {
    const { rows } = await this.pool.query(
      `SELECT ${COLUMNS} FROM step_waits WHERE command_id = $1 AND closed_at IS NULL ORDER BY created_at`,
      [String(filter.commandId)],
    );
    return rows.map(toWait);
  }

  async listOpenStepWaits(limit: number): Promise<StepWait[]> {
    const { rows } = await this.pool.query(`SELECT ${COLUMNS} FROM step_waits WHERE closed_at IS NULL ORDER BY created_at LIMIT $1`, [
      Math.max(1, Math.min(1000, Math.trunc(limit))),
    ]);
    return rows.map(toWait);
  }

  async listRunStepWaits(runId: string): Promise<StepWait[]> {
    const { rows } = await this.pool.query(`SELECT ${COLUMNS} FROM step_waits WHERE run_id = $1 AND closed_at IS NULL ORDER BY created_at`, [
      String(runId),
    ]);
    return rows.map(toWait);
  }

  async closeStepWait(taskToken: string, reason: string): Promise<void> {
    await this.pool.query(`UPDATE step_waits SET closed_at = now(), close_reason = $2 WHERE task_token = $1 AND closed_at IS NULL`, [
      parse(StepTaskToken, taskToken, 'task token'),
      parse(CloseReason, reason, 'close reason'),
    ]);
  }
}
