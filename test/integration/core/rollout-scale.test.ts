/**
 * Scale: a 10,000-host fleet planned by the real rollout tasks against a real
 * registry, and the shape of the synthesized FleetRollout / RolloutBatch loops
 * that keeps each execution's history growing with batches, not hosts. The
 * histories themselves are measured in the lab (test/workflows/rollout-budgets.test.ts,
 * "history growth"), which bounds a 10,000-host rollout from those counts.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgRegistryStore } from '../../../core/registry/pg-store';
import { BATCH_SIZE, claimHost, nextBatch, type RolloutDeps } from '../../../core/rollout';
import { planRollout } from '../../../core/rollout-plan';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { definitionOf, synthApp, type AslDefinition } from '../../support/synth';

const HOSTS = 10_000;
const MAX_PAYLOAD = 256 * 1024;

let db: TestDatabase;
let pool: pg.Pool;
let deps: RolloutDeps;
let fleetRollout: AslDefinition;
let rolloutBatch: AslDefinition;

beforeAll(async () => {
  db = await createTestDatabase('fw_scale');
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  const store = new PgRegistryStore(pool);
  await store.migrate();
  await store.upsertFleet({ id: 'big', config: { concurrency: 20 } });
  await store.upsertRelease({ version: '1.5.0', destructive: false });
  // fixture: 10,000 registered hosts in one statement (the store's upsertHost is per host)
  await pool.query(
    `INSERT INTO hosts (id, fleet_id, instance_id, tier, database_mode, compose_dir, health_url)
     SELECT 'h' || i, 'big', 'mi-' || lpad(to_hex(i), 17, '0'), CASE WHEN i <= 500 THEN 'staging' ELSE 'production' END,
            'embedded', '/opt/semaphor', 'http://10.0.0.1:3000/api/health'
     FROM generate_series(1, $1) AS i`,
    [HOSTS],
  );
  deps = { store, alerts: { publish: async () => undefined } };
  const s = synthApp();
  fleetRollout = definitionOf(s, 'FleetRollout');
  rolloutBatch = definitionOf(s, 'RolloutBatch');
}, 180_000);

afterAll(async () => {
  await pool.end();
  await db.drop();
});

const size = (v: unknown) => Buffer.byteLength(JSON.stringify(v));

describe('a 10,000-host rollout', () => {
  it('keeps the plan in the registry and the execution state small', async () => {
    const ctx = await planRollout({ fleetId: 'big', version: '1.5.0' }, 'arn:aws:states:us-east-1:1:execution:FleetRollout:big', deps);
    expect(ctx.waveCount).toBe(4);
    const waves = await deps.store.listRolloutWaves(ctx.rolloutId);
    expect(waves.reduce((n, w) => n + w.hostIds.length, 0)).toBe(HOSTS);
    expect(size(ctx)).toBeLessThan(2 * 1024); // the context carries no host list
    const batch = await nextBatch({ rollout: ctx, wave: 2 }, deps);
    expect(batch.items).toHaveLength(BATCH_SIZE);
    expect(batch.pending).toBe(waves[2]!.hostIds.length);
    // the largest state FleetRollout holds: context + one batch + a wave result
    expect(size({ input: { fleetId: 'big', version: '1.5.0' }, rollout: ctx, batch, waveResult: { ok: true } })).toBeLessThan(MAX_PAYLOAD / 20);
    const claim = await claimHost({ rollout: ctx, wave: 2, hostId: batch.items[0]!.hostId }, deps);
    expect(claim.action).toBe('run');
  });

  it('loops FleetRollout over batches, each a child execution, so its history grows with batches', () => {
    // the batch loop: NextBatch → HasBatch → RunBatch → NextBatch
    expect(fleetRollout.States.NextBatch!.Next).toBe('HasBatch');
    expect((fleetRollout.States.HasBatch!.Choices ?? []).map((c) => c.Next)).toContain('RunBatch');
    expect(fleetRollout.States.RunBatch!.Next).toBe('NextBatch');
    expect(fleetRollout.States.RunBatch!.Resource).toMatch(/startExecution\.sync/);
  });

  it('runs each RolloutBatch as one Map over at most BATCH_SIZE hosts, each host its own HostUpgrade', () => {
    const map = rolloutBatch.States[rolloutBatch.StartAt]!;
    expect(map.Type).toBe('Map');
    expect(map.MaxConcurrencyPath).toBe('$.rollout.concurrency');
    const processor = (map.ItemProcessor ?? map.Iterator) as AslDefinition;
    expect(Object.values(processor.States).some((s) => String(s.Resource).includes('startExecution.sync'))).toBe(true);
  });
});
