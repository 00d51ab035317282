/** `ReleaseStore` over PostgreSQL. */
import type pg from 'pg';
import { InvalidRegistryInputError } from '../errors';
import { parse } from '../fields';
import { fromRow, type Row } from '../pg';
import { UpsertReleaseInput, type Release, type ReleaseStore } from './release-store';

const toRelease = (r: Row) => fromRow<Release>(r);

export class PgReleaseStore implements ReleaseStore {
  constructor(private readonly pool: pg.Pool) {}

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
}
