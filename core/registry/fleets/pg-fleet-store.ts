/** `FleetStore` over PostgreSQL. */
import type pg from 'pg';
import { Version } from '../../models';
import { insertAudit } from '../audit/pg-audit-store';
import { DuplicateInstanceError, FleetNotFoundError, HostNotFoundError } from '../errors';
import { Actor, FreeText, parse, SYSTEM_ACTOR } from '../fields';
import { fromRow, pgCode, strOrNull, withTransaction, type Row } from '../pg';
import { redactSecrets } from '../../redact';
import { UpsertFleetInput, UpsertHostInput, type Fleet, type FleetStore, type Host } from './fleet-store';

const toFleet = (r: Row) => fromRow<Fleet>(r);
const toHost = (r: Row) => fromRow<Host>(r, { bigints: ['lease_seq'] });

export class PgFleetStore implements FleetStore {
  constructor(private readonly pool: pg.Pool) {}

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
      if (code === '23505' && constraint === 'hosts_active_instance_id_key') throw new DuplicateInstanceError(h.instanceId, h.id);
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

  async unlockHost(hostId: string, actor: string): Promise<Host> {
    const who = parse(Actor, actor, 'actor');
    return withTransaction(this.pool, async (c) => {
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
}
