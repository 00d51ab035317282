/**
 * Forward-only migrator. Every Lambda container and the CLI call it on start,
 * so it must be cheap when there is nothing to do and safe when many start at
 * once: each migration runs in its own transaction that first takes a
 * transaction-scoped advisory lock, then re-reads `schema_migrations`, so a
 * racing process waits and then finds the work done.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { MigrationChecksumError, MigrationFailedError } from './errors';
import { MIGRATIONS, type Migration } from './migrations/index';
import { redactSecrets } from '../redact';

/** Arbitrary fixed key ("fleetwav" in ASCII) shared by every fleetwave process. */
export const MIGRATION_LOCK_KEY = 0x666c656574776176n;

export interface MigrateResult {
  /** Ids applied by this call, in order. */
  applied: number[];
  /** Ids that were already applied before this call (checksums verified). */
  alreadyApplied: number[];
  /**
   * Ids recorded in the database that this code does not know: a newer
   * release migrated it. Forward-only migrations are additive, so older code
   * keeps working during a deploy; reported, not refused.
   */
  unknown: number[];
}

export function migrationChecksum(m: Migration): string {
  return createHash('sha256').update(m.sql, 'utf8').digest('hex');
}

function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.id !== i + 1) throw new MigrationFailedError(`migrations must be numbered 1..n in order; found ${m.id} at position ${i + 1}`);
  });
}

type Queryable = Pick<pg.PoolClient, 'query'>;

async function lockAndEnsureTable(client: Queryable): Promise<Map<number, { name: string; checksum: string }>> {
  await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
  // Created under the lock: concurrent CREATE TABLE IF NOT EXISTS can still
  // collide on the catalog's unique index without it.
  await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    id         integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const { rows } = await client.query<{ id: number; name: string; checksum: string }>(
    'SELECT id, name, checksum FROM schema_migrations ORDER BY id',
  );
  return new Map(rows.map((r) => [r.id, { name: r.name, checksum: r.checksum }]));
}

function verify(applied: Map<number, { name: string; checksum: string }>, migrations: readonly Migration[]): void {
  for (const m of migrations) {
    const row = applied.get(m.id);
    if (row && row.checksum !== migrationChecksum(m)) throw new MigrationChecksumError(m.id, m.name);
  }
}

export async function runMigrations(pool: pg.Pool, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrateResult> {
  checkOrder(migrations);
  const client = await pool.connect();
  const result: MigrateResult = { applied: [], alreadyApplied: [], unknown: [] };
  let broken: Error | undefined;
  const rollback = async () => {
    try {
      await client.query('ROLLBACK');
    } catch (err) {
      // the connection is unusable: destroy it instead of returning it to the pool
      broken = err instanceof Error ? err : new Error(String(err));
    }
  };
  try {
    // Pass 1: verify what is there (and learn what is pending) in one short transaction.
    let applied: Map<number, { name: string; checksum: string }>;
    await client.query('BEGIN');
    try {
      applied = await lockAndEnsureTable(client);
      verify(applied, migrations);
      await client.query('COMMIT');
    } catch (err) {
      await rollback();
      throw err;
    }
    const known = new Set(migrations.map((m) => m.id));
    result.unknown = [...applied.keys()].filter((id) => !known.has(id));
    result.alreadyApplied = migrations.filter((m) => applied.has(m.id)).map((m) => m.id);

    // Pass 2: one transaction per pending migration, re-checked under the lock.
    for (const m of migrations) {
      if (applied.has(m.id)) continue;
      await client.query('BEGIN');
      try {
        const now = await lockAndEnsureTable(client);
        verify(now, migrations);
        if (now.has(m.id)) {
          await client.query('COMMIT');
          result.alreadyApplied.push(m.id);
          continue;
        }
        try {
          await client.query(m.sql);
        } catch (err) {
          throw new MigrationFailedError(
            `migration ${String(m.id).padStart(3, '0')}_${m.name} failed: ${redactSecrets(err instanceof Error ? err.message : String(err))}`,
            { cause: err },
          );
        }
        await client.query('INSERT INTO schema_migrations (id, name, checksum) VALUES ($1, $2, $3)', [
          m.id,
          m.name,
          migrationChecksum(m),
        ]);
        await client.query('COMMIT');
        result.applied.push(m.id);
      } catch (err) {
        await rollback();
        throw err;
      }
    }
    result.alreadyApplied.sort((a, b) => a - b);
    return result;
  } finally {
    client.release(broken);
  }
}
