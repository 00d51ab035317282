import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../support/database';

describe('test databases', () => {
  it('gets a database of its own from the suite server', async () => {
    const db = await createTestDatabase();
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const r = await c.query('select current_database() as d');
    await c.end();
    await db.drop();
    expect(r.rows[0].d).toBe(db.name);
  });
});
