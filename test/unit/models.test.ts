import { describe, expect, it } from 'vitest';
import { ComposeDir, Version } from '../../core/models';
import { createTestDatabase } from '../support/database';
import pg from 'pg';

describe('models', () => {
  it('refuses latest and accepts a pinned tag', () => {
    expect(Version.safeParse('latest').success).toBe(false);
    expect(Version.safeParse('1.6.0').success).toBe(true);
  });
  it('refuses path traversal in a compose dir', () => {
    expect(ComposeDir.safeParse('/opt/../etc').success).toBe(false);
    expect(ComposeDir.safeParse('/opt/semaphor').success).toBe(true);
  });
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
