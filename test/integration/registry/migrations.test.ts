import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { MigrationChecksumError, MigrationFailedError } from '../../../core/registry/errors';
import { migrationChecksum, runMigrations } from '../../../core/registry/migrate';
import { MIGRATIONS, type Migration } from '../../../core/registry/migrations/index';
import { PgRegistryStore } from '../../../core/registry/pg-store';
import { createTestDatabase, type TestDatabase } from '../../support/database';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function freshPool(max = 4): Promise<{ db: TestDatabase; pool: pg.Pool }> {
  const db = await createTestDatabase('fw_migrate');
  const pool = new pg.Pool({ connectionString: db.url, max });
  cleanups.push(async () => {
    await pool.end();
    await db.drop();
  });
  return { db, pool };
}

async function appliedRows(pool: pg.Pool) {
  const { rows } = await pool.query<{ id: number; name: string; checksum: string }>(
    'SELECT id, name, checksum FROM schema_migrations ORDER BY id',
  );
  return rows;
}

describe('registry migrations', () => {
  it('exports one module per migration, numbered 1..n in file-name order', () => {
    const dir = fileURLToPath(new URL('../../../core/registry/migrations/', import.meta.url));
    const files = readdirSync(dir).filter((f) => /^\d{3}_.+\.ts$/.test(f)).sort();
    expect(files.map((f) => f.replace(/\.ts$/, ''))).toEqual(
      MIGRATIONS.map((m) => `${String(m.id).padStart(3, '0')}_${m.name}`),
    );
    expect(MIGRATIONS.map((m) => m.id)).toEqual(MIGRATIONS.map((_, i) => i + 1));
  });

  it('applies every migration once and records its checksum; a second run applies nothing', async () => {
    const { pool } = await freshPool();
    const store = new PgRegistryStore(pool);

    const first = await store.migrate();
    const second = await store.migrate();

    expect(first.applied).toEqual(MIGRATIONS.map((m) => m.id));
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toEqual(MIGRATIONS.map((m) => m.id));
    expect(await appliedRows(pool)).toEqual(
      MIGRATIONS.map((m) => ({ id: m.id, name: m.name, checksum: migrationChecksum(m) })),
    );
  });

  it('lets many processes migrate at once: each migration is applied by exactly one of them', async () => {
    const { db } = await freshPool();
    const pools = Array.from({ length: 5 }, () => new pg.Pool({ connectionString: db.url, max: 1 }));
    cleanups.push(async () => {
      await Promise.all(pools.map((p) => p.end()));
    });

    const results = await Promise.all(pools.map((p) => new PgRegistryStore(p).migrate()));

    // one transaction per migration under the advisory lock: processes may take turns, but no
    // migration is applied twice and none is skipped (which process applies which is scheduling)
    const applied = results.flatMap((r) => r.applied).sort((a, b) => a - b);
    expect(applied).toEqual(MIGRATIONS.map((m) => m.id));
    expect(results.every((r) => [...r.applied, ...r.alreadyApplied].length === MIGRATIONS.length)).toBe(true);
    expect(await appliedRows(pools[0]!)).toHaveLength(MIGRATIONS.length);
  });

  it('refuses to run when an applied migration was edited afterwards', async () => {
    const { pool } = await freshPool();
    await runMigrations(pool);
    const edited: Migration[] = MIGRATIONS.map((m, i) => (i === 0 ? { ...m, sql: `${m.sql}\n-- edited` } : m));

    await expect(runMigrations(pool, edited)).rejects.toBeInstanceOf(MigrationChecksumError);
    await expect(runMigrations(pool, edited)).rejects.toThrow(/001_initial was changed after it was applied/);
  });

  it('rolls a failing migration back completely and applies a fixed one later', async () => {
    const { pool } = await freshPool();
    const bad: Migration = { id: MIGRATIONS.length + 1, name: 'bad', sql: 'CREATE TABLE half_done (id int); SELECT 1 / 0;' };

    await expect(runMigrations(pool, [...MIGRATIONS, bad])).rejects.toBeInstanceOf(MigrationFailedError);
    const { rows } = await pool.query(`SELECT to_regclass('half_done') AS t`);
    expect(rows[0].t).toBeNull();
    expect((await appliedRows(pool)).map((r) => r.id)).toEqual(MIGRATIONS.map((m) => m.id));

    const good: Migration = { ...bad, name: 'good', sql: 'CREATE TABLE half_done (id int);' };
    const result = await runMigrations(pool, [...MIGRATIONS, good]);
    expect(result.applied).toEqual([good.id]);
  });

  it('reports migrations applied by a newer release instead of failing', async () => {
    const { pool } = await freshPool();
    const newer: Migration = { id: MIGRATIONS.length + 1, name: 'newer', sql: 'CREATE TABLE newer_thing (id int);' };
    await runMigrations(pool, [...MIGRATIONS, newer]);

    const result = await runMigrations(pool);

    expect(result.unknown).toEqual([newer.id]);
    expect(result.applied).toEqual([]);
  });

  it('refuses a migration list with gaps', async () => {
    const { pool } = await freshPool();
    const gap: Migration = { id: MIGRATIONS.length + 2, name: 'gap', sql: 'SELECT 1' };
    await expect(runMigrations(pool, [...MIGRATIONS, gap])).rejects.toThrow(/numbered 1..n/);
  });
});
