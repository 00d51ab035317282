/** `AuditStore` over PostgreSQL; `insertAudit` lets other stores audit inside their own transaction. */
import type pg from 'pg';
import type { z } from 'zod';
import { HostId, RolloutId } from '../../models';
import { Limit, parse, Uuid } from '../fields';
import { fromRow, type Db, type Row } from '../pg';
import { redactDeep } from '../../redact';
import { AppendAuditInput, type AuditEntry, type AuditStore, type ListAuditFilter } from './audit-store';

const toAudit = (r: Row) => fromRow<AuditEntry>(r, { bigints: ['id'] });

/** Appends an entry with `client`, so a state change and its audit entry commit together. */
export async function insertAudit(client: Db, input: z.output<typeof AppendAuditInput>): Promise<AuditEntry> {
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

/** Appends many entries with one statement (a fleet apply audits each host it touched). */
export async function insertAudits(client: Db, entries: z.output<typeof AppendAuditInput>[]): Promise<void> {
  if (entries.length === 0) return;
  await client.query(
    `INSERT INTO audit_log (actor, action, host_id, rollout_id, run_id, details)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::jsonb[])`,
    [
      entries.map((e) => e.actor),
      entries.map((e) => e.action),
      entries.map((e) => e.hostId ?? null),
      entries.map((e) => e.rolloutId ?? null),
      entries.map((e) => e.runId ?? null),
      entries.map((e) => JSON.stringify(redactDeep(e.details))),
    ],
  );
}

export class PgAuditStore implements AuditStore {
  constructor(private readonly pool: pg.Pool) {}

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
}
