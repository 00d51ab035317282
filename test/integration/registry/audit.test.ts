import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRegistry, randomUUID, seedHost, type Registry } from './fixtures';

let reg: Registry;
beforeAll(async () => {
  reg = await openRegistry();
});
afterAll(async () => {
  await reg.close();
});

describe('audit log', () => {
  it('lists entries newest first, filtered by host and run', async () => {
    const host = await seedHost(reg.store);
    const runId = randomUUID();
    await reg.store.appendAudit({ actor: 'cli:alice', action: 'fleet.applied', hostId: host.id, details: { n: 1 } });
    await reg.store.appendAudit({ actor: 'cli:alice', action: 'rollout.approved', hostId: host.id, runId, details: {} });
    await reg.store.appendAudit({ actor: 'cli:bob', action: 'other.thing', details: {} });

    const byHost = await reg.store.listAudit({ hostId: host.id });
    const byRun = await reg.store.listAudit({ runId });
    const limited = await reg.store.listAudit({ limit: 1 });

    expect(byHost.map((a) => a.action)).toEqual(['rollout.approved', 'fleet.applied']);
    expect(byHost[1]!.details).toEqual({ n: 1 });
    expect(byRun.map((a) => a.action)).toEqual(['rollout.approved']);
    expect(limited.map((a) => a.action)).toEqual(['other.thing']);
  });

  it.each([
    ['UPDATE', `UPDATE audit_log SET actor = 'mallory'`],
    ['DELETE', 'DELETE FROM audit_log'],
    ['TRUNCATE', 'TRUNCATE audit_log'],
  ])('rejects %s, even from the owner role', async (op, sql) => {
    await reg.store.appendAudit({ actor: 'cli:alice', action: 'host.locked', details: {} });
    const before = await reg.pool.query('SELECT count(*)::int AS n, count(*) FILTER (WHERE actor = $1)::int AS m FROM audit_log', ['mallory']);

    await expect(reg.pool.query(sql)).rejects.toThrow(new RegExp(`audit_log is append-only: ${op} refused`));

    const after = await reg.pool.query('SELECT count(*)::int AS n, count(*) FILTER (WHERE actor = $1)::int AS m FROM audit_log', ['mallory']);
    expect(after.rows[0]).toEqual(before.rows[0]);
    expect(after.rows[0].n).toBeGreaterThan(0);
  });

  it('redacts credentials in details before they are stored', async () => {
    const entry = await reg.store.appendAudit({
      actor: 'fleetwave',
      action: 'step.failed',
      details: { error: { message: 'could not connect to postgresql://app:hunter2@10.0.0.5/semaphor' }, list: ['password=hunter2'] },
    });
    expect(JSON.stringify(entry.details)).not.toContain('hunter2');
    const { rows } = await reg.pool.query('SELECT details::text AS d FROM audit_log WHERE id = $1', [entry.id]);
    expect(rows[0].d).not.toContain('hunter2');
  });

  it('refuses an action name that is not a dotted slug', async () => {
    await expect(reg.store.appendAudit({ actor: 'x', action: 'DROP TABLE;', details: {} })).rejects.toThrow(/audit action/);
  });
});
