/** `FleetStore` over PostgreSQL. */
import type pg from 'pg';
import type { z } from 'zod';
import { Version } from '../../models';
import { AppendAuditInput } from '../audit/audit-store';
import { insertAudit, insertAudits } from '../audit/pg-audit-store';
import { DuplicateInstanceError, FleetApplyRefusedError, FleetNotFoundError, HostLockedError, HostNotFoundError } from '../errors';
import { Actor, FreeText, parse, SYSTEM_ACTOR } from '../fields';
import { fromRow, ms, pgCode, str, strOrNull, withTransaction, type Db, type Row } from '../pg';
import { redactSecrets } from '../../redact';
import { auditEntriesOf, planFleetChanges } from './changes';
import { ApplyFleetInput, UpsertFleetInput, UpsertHostInput, type Fleet, type FleetChanges, type FleetStore, type Host } from './fleet-store';

const toFleet = (r: Row) => fromRow<Fleet>(r);
const toHost = (r: Row) => fromRow<Host>(r, { bigints: ['lease_seq'] });

type FleetRow = z.output<typeof UpsertFleetInput>;
type HostRow = z.output<typeof UpsertHostInput>;

async function upsertFleetRow(c: Db, f: FleetRow): Promise<Row> {
  const { rows } = await c.query(
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
  return rows[0] as Row;
}

/** Many hosts in one statement; a retired host written again is active again. */
async function upsertHostRows(c: Db, hosts: HostRow[], keepWave: boolean): Promise<Row[]> {
  if (hosts.length === 0) return [];
  try {
    const { rows } = await c.query(
      `INSERT INTO hosts (id, fleet_id, instance_id, tier, database_mode, compose_dir, health_url, wave)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[])
       ON CONFLICT (id) DO UPDATE SET
         fleet_id = EXCLUDED.fleet_id,
         instance_id = EXCLUDED.instance_id,
         tier = EXCLUDED.tier,
         database_mode = EXCLUDED.database_mode,
         compose_dir = EXCLUDED.compose_dir,
         health_url = EXCLUDED.health_url,
         wave = CASE WHEN $9::boolean THEN hosts.wave ELSE EXCLUDED.wave END,
         retired_at = NULL,
         updated_at = now()
       RETURNING *`,
      [
        hosts.map((h) => h.id),
        hosts.map((h) => h.fleetId),
        hosts.map((h) => h.instanceId),
        hosts.map((h) => h.tier),
        hosts.map((h) => h.databaseMode),
        hosts.map((h) => h.composeDir),
        hosts.map((h) => h.healthUrl),
        hosts.map((h) => h.wave ?? null),
        keepWave,
      ],
    );
    return rows as Row[];
  } catch (err) {
    const { code, constraint } = pgCode(err);
    const [first] = hosts;
    if (code === '23505' && constraint === 'hosts_active_instance_id_key') {
      const detail = /\(instance_id\)=\(([^)]+)\)/.exec((err as { detail?: string }).detail ?? '')?.[1];
      const h = hosts.find((x) => x.instanceId === detail) ?? first!;
      throw new DuplicateInstanceError(h.instanceId, h.id);
    }
    if (code === '23503') throw new FleetNotFoundError(first!.fleetId);
    throw err;
  }
}

export class PgFleetStore implements FleetStore {
  constructor(private readonly pool: pg.Pool) {}

  async upsertFleet(input: UpsertFleetInput): Promise<Fleet> {
    return toFleet(await upsertFleetRow(this.pool, parse(UpsertFleetInput, input, 'fleet')));
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

  async upsertHost(input: UpsertHostInput): Promise<Host> {
    const h = parse(UpsertHostInput, input, 'host');
    const [row] = await upsertHostRows(this.pool, [{ ...h, wave: h.wave ?? null }], h.wave === undefined);
    return toHost(row!);
  }

  async applyFleet(input: ApplyFleetInput): Promise<FleetChanges> {
    const a = parse(ApplyFleetInput, input, 'fleet');
    const fleetId = a.fleet.id;
    return withTransaction(this.pool, async (c) => {
      // one apply per fleet at a time: a fleet row (made if new) is the lock
      const before = (await c.query('SELECT * FROM fleets WHERE id = $1 FOR UPDATE', [fleetId])).rows[0] as Row | undefined;
      await upsertFleetRow(c, a.fleet);
      // host rows, then lease rows: the lock order of every lease path
      const { rows: hostRows } = await c.query(
        `SELECT * FROM hosts WHERE fleet_id = $1 OR id = ANY($2::text[]) OR (retired_at IS NULL AND instance_id = ANY($3::text[]))
          ORDER BY id FOR UPDATE`,
        [fleetId, a.hosts.map((h) => h.id), a.hosts.map((h) => h.instanceId)],
      );
      const hosts = hostRows.map((r) => toHost(r as Row));
      const { rows: leaseRows } = await c.query(
        `SELECT host_id, holder, expires_at FROM host_leases
          WHERE host_id = ANY($1::text[]) AND expires_at > now() ORDER BY host_id FOR UPDATE`,
        [hosts.filter((h) => h.fleetId === fleetId).map((h) => h.id)],
      );
      const leases = new Map(leaseRows.map((r) => [str((r as Row).host_id), { holder: str((r as Row).holder), expiresAt: ms((r as Row).expires_at) }]));
      const plan = planFleetChanges({ fleet: before ? toFleet(before) : null, hosts, leases }, a.fleet, a.hosts);
      if (plan.problems.length > 0) throw new FleetApplyRefusedError(fleetId, plan.problems);
      // retired first, so a host of the file may take over a retired host's instance
      if (plan.retire.length > 0) {
        await c.query('UPDATE hosts SET retired_at = now(), updated_at = now() WHERE id = ANY($1::text[])', [plan.retire]);
      }
      await upsertHostRows(c, plan.upsert, false);
      await insertAudits(c, auditEntriesOf(plan, a.actor).map((e) => parse(AppendAuditInput, e, 'audit entry')));
      return plan.changes;
    });
  }

  async getHost(hostId: string): Promise<Host> {
    const { rows } = await this.pool.query('SELECT * FROM hosts WHERE id = $1', [hostId]);
    if (!rows[0]) throw new HostNotFoundError(hostId);
    return toHost(rows[0] as Row);
  }

  async listHosts(filter: { fleetId?: string; includeRetired?: boolean } = {}): Promise<Host[]> {
    const { rows } = await this.pool.query(
      `SELECT * FROM hosts WHERE ($1::text IS NULL OR fleet_id = $1) AND ($2::boolean OR retired_at IS NULL)
        ORDER BY fleet_id, wave NULLS LAST, id`,
      [filter.fleetId ?? null, filter.includeRetired === true],
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
    return withTransaction(this.pool, async (c) => {
      const { rows } = await c.query(
        'UPDATE hosts SET locked = true, locked_reason = $2, updated_at = now() WHERE id = $1 RETURNING *',
        [hostId, why],
      );
      if (!rows[0]) throw new HostNotFoundError(hostId);
      await insertAudit(c, { actor: who, action: 'host.locked', hostId, details: { reason: why } });
      return toHost(rows[0] as Row);
    });
  }

  async unlockHost(hostId: string, actor: string, reason?: string): Promise<Host> {
    const who = parse(Actor, actor, 'actor');
    const why = reason === undefined ? null : redactSecrets(parse(FreeText, reason, 'unlock reason'));
    return withTransaction(this.pool, async (c) => {
      // host row, then lease row (the lease paths' order): no lease can be taken while we decide
      const before = await c.query('SELECT locked, locked_reason FROM hosts WHERE id = $1 FOR UPDATE', [hostId]);
      if (!before.rows[0]) throw new HostNotFoundError(hostId);
      const lease = (await c.query('SELECT holder, expires_at FROM host_leases WHERE host_id = $1 AND expires_at > now() FOR UPDATE', [hostId])).rows[0] as Row | undefined;
      if (lease) throw new HostLockedError(hostId, str(lease.holder), ms(lease.expires_at));
      const { rows } = await c.query(
        'UPDATE hosts SET locked = false, locked_reason = NULL, updated_at = now() WHERE id = $1 RETURNING *',
        [hostId],
      );
      const prev = before.rows[0] as Row;
      await insertAudit(c, {
        actor: who,
        action: 'host.unlocked',
        hostId,
        details: { wasLocked: prev.locked === true, previousReason: strOrNull(prev.locked_reason), reason: why },
      });
      return toHost(rows[0] as Row);
    });
  }
}
