/** withTransaction, the one transaction helper of every PostgreSQL store. */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../../core/registry/pg';
import { createTestDatabase, type TestDatabase } from '../../support/database';

let db: TestDatabase;
let pool: pg.Pool;
beforeAll(async () => {
  db = await createTestDatabase('fw_tx');
  // one connection: a broken one handed back would be the next caller's
  pool = new pg.Pool({ connectionString: db.url, max: 1 });
  await pool.query('CREATE TABLE t (n int)');
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

describe('withTransaction', () => {
  it('commits what the callback wrote and rolls back a callback that throws', async () => {
    await withTransaction(pool, (c) => c.query('INSERT INTO t VALUES (1)'));
    await expect(
      withTransaction(pool, async (c) => {
        await c.query('INSERT INTO t VALUES (2)');
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');

    expect((await pool.query('SELECT n FROM t ORDER BY n')).rows).toEqual([{ n: 1 }]);
  });

  it('survives a connection that dies mid-transaction: the caller gets the error, the next caller a working connection', async () => {
    await expect(withTransaction(pool, (c) => c.query('SELECT pg_terminate_backend(pg_backend_pid())'))).rejects.toThrow(/terminat/);

    const { rows } = await withTransaction(pool, (c) => c.query('SELECT 1 AS ok'));

    expect(rows).toEqual([{ ok: 1 }]);
  });
});
