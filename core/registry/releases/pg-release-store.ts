/** `ReleaseStore` over PostgreSQL. */
import type pg from 'pg';
import { canonicalVersion, Reason, sameVersion, Version } from '../../models';
import { insertAudit } from '../audit/pg-audit-store';
import { InvalidRegistryInputError, ReleaseNotFoundError } from '../errors';
import { Actor, parse } from '../fields';
import { fromRow, withTransaction, type Db, type Row } from '../pg';
import { planReleaseChanges } from './changes';
import { ApplyReleasesInput, UpsertReleaseInput, type Release, type ReleaseChanges, type ReleaseSpec, type ReleaseStore } from './release-store';

const toRelease = (r: Row) => fromRow<Release>(r);
/** The expression of the unique index releases_canonical_version_key (migration 005). */
const CANONICAL = "regexp_replace(version, '^v', '')";
// Numeric ordering of the x.y.z core; text order would put 1.10.0 before 1.9.0.
const ORDER = `ORDER BY string_to_array(regexp_replace(version, '^v?([0-9.]+).*$', '\\1'), '.')::int[], version`;

async function upsert(c: Db, r: { version: string; destructive: boolean; requires: string[]; notes: string; link: string | null }): Promise<Row> {
  const { rows } = await c.query(
    `INSERT INTO releases (version, destructive, requires, notes, link) VALUES ($1, $2, $3::text[], $4, $5)
     ON CONFLICT ((${CANONICAL})) DO UPDATE SET
       destructive = EXCLUDED.destructive, requires = EXCLUDED.requires, notes = EXCLUDED.notes, link = EXCLUDED.link,
       updated_at = CASE WHEN (releases.destructive, releases.requires, releases.notes, releases.link)
                            IS DISTINCT FROM (EXCLUDED.destructive, EXCLUDED.requires, EXCLUDED.notes, EXCLUDED.link)
                         THEN now() ELSE releases.updated_at END
     RETURNING *`,
    [r.version, r.destructive, r.requires, r.notes, r.link],
  );
  return rows[0] as Row;
}

const withdraw = (c: Db, version: string, reason: string) =>
  c.query(`UPDATE releases SET withdrawn_at = now(), withdrawn_reason = $2, updated_at = now() WHERE ${CANONICAL} = $1 AND withdrawn_at IS NULL RETURNING *`, [
    canonicalVersion(version),
    reason,
  ]);

const specRow = (s: ReleaseSpec) => ({ version: s.version, destructive: s.destructive, requires: s.requires, notes: s.notes, link: s.link ?? null });

export class PgReleaseStore implements ReleaseStore {
  constructor(private readonly pool: pg.Pool) {}

  async applyReleases(input: ApplyReleasesInput): Promise<ReleaseChanges> {
    const { releases, actor } = parse(ApplyReleasesInput, input, 'release catalog');
    return withTransaction(this.pool, async (c) => {
      // one apply at a time (readers go on): the plan is made from what this transaction sees
      await c.query('LOCK TABLE releases IN SHARE ROW EXCLUSIVE MODE');
      const registered = (await c.query(`SELECT * FROM releases ${ORDER}`)).rows.map(toRelease);
      const plan = planReleaseChanges(registered, releases);
      for (const s of plan.add) {
        await upsert(c, specRow(s));
        await insertAudit(c, { actor, action: 'release.added', details: { version: s.version, destructive: s.destructive, requires: s.requires } });
      }
      for (const ch of plan.change) {
        const before = registered.find((r) => r.version === ch.version)!;
        await upsert(c, { ...specRow(ch.spec), version: ch.version });
        const pick = (o: object) => Object.fromEntries(ch.fields.map((f) => [f, (o as Record<string, unknown>)[f] ?? null]));
        await insertAudit(c, { actor, action: 'release.changed', details: { version: ch.version, before: pick(before), after: pick(ch.spec) } });
      }
      for (const w of plan.withdraw) {
        await withdraw(c, w.version, w.reason);
        await insertAudit(c, { actor, action: 'release.withdrawn', details: { version: w.version, reason: w.reason } });
      }
      return plan.changes;
    });
  }

  async withdrawRelease(version: string, reason: string, actor: string): Promise<{ release: Release; changed: boolean }> {
    const v = parse(Version, version, 'version');
    const why = parse(Reason, reason, 'withdrawal reason');
    const who = parse(Actor, actor, 'actor');
    return withTransaction(this.pool, async (c) => {
      const { rows } = await withdraw(c, v, why);
      if (rows[0]) {
        const release = toRelease(rows[0] as Row);
        await insertAudit(c, { actor: who, action: 'release.withdrawn', details: { version: release.version, reason: why } });
        return { release, changed: true };
      }
      const found = (await c.query(`SELECT * FROM releases WHERE ${CANONICAL} = $1`, [canonicalVersion(v)])).rows[0] as Row | undefined;
      if (!found) throw new ReleaseNotFoundError(v);
      return { release: toRelease(found), changed: false };
    });
  }

  async upsertRelease(input: UpsertReleaseInput): Promise<Release> {
    const r = parse(UpsertReleaseInput, input, 'release');
    if (r.requires.some((q) => sameVersion(q, r.version))) throw new InvalidRegistryInputError(`release ${r.version} cannot require itself`);
    return toRelease(await upsert(this.pool, r));
  }

  async getRelease(version: string): Promise<Release | null> {
    const { rows } = await this.pool.query(`SELECT * FROM releases WHERE ${CANONICAL} = $1`, [canonicalVersion(version)]);
    return rows[0] ? toRelease(rows[0] as Row) : null;
  }

  async listReleases(): Promise<Release[]> {
    const { rows } = await this.pool.query(`SELECT * FROM releases ${ORDER}`);
    return rows.map(toRelease);
  }
}
