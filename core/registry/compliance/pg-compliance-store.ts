/** `ComplianceCheckStore` over PostgreSQL. */
import type pg from 'pg';
import { FleetId } from '../../models';
import { FleetNotFoundError, InvalidRegistryInputError } from '../errors';
import { FreeText, parse, Uuid } from '../fields';
import { fromRow, pgCode, withTransaction, type Row } from '../pg';
import { redactSecrets } from '../../redact';
import {
  CompleteComplianceCheckInput,
  CreateComplianceCheckInput,
  type ComplianceCheck,
  type ComplianceCheckStore,
  type ComplianceFleetCounts,
  type ComplianceResult,
} from './compliance-store';

const toComplianceCheck = (r: Row) => fromRow<ComplianceCheck>(r);
const toComplianceResult = (r: Row) => fromRow<ComplianceResult>(r);

export class PgComplianceCheckStore implements ComplianceCheckStore {
  constructor(private readonly pool: pg.Pool) {}

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
    return withTransaction(this.pool, async (c) => {
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
    return rows.map((r: Row) => fromRow<ComplianceFleetCounts>(r, { bigints: ['hosts', 'compliant', 'non_compliant', 'unknown'] }));
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
