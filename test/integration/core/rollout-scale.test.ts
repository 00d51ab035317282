/**
 * Scale: a 10,000-host fleet planned by the real rollout tasks against a real
 * registry, and the synthesized FleetRollout / RolloutBatch loops, bounded so
 * no execution's payload or history grows with the fleet.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgRegistryStore } from '../../../core/registry/pg-store';
import { PgRolloutStore } from '../../../core/registry/rollout-store';
import { BATCH_SIZE, claimHost, nextBatch, planRollout, type RolloutDeps } from '../../../core/rollout';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { definitionOf, synthApp, type AslDefinition } from '../../support/synth';

const HOSTS = 10_000;
const MAX_PAYLOAD = 256 * 1024;
const MAX_HISTORY = 25_000;
/** Events a state adds to the history (Task: entered, scheduled, started, succeeded, exited + submitted for .sync). */
const EVENTS: Record<string, number> = { Task: 6, Choice: 2, Pass: 2, Wait: 2, Succeed: 2, Fail: 2, Map: 4 };

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
  deps = { store, rollouts: new PgRolloutStore(pool), alerts: { publish: async () => undefined } };
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
    const waves = await deps.rollouts.waves(ctx.rolloutId);
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

  it('bounds FleetRollout history by batches, not hosts', () => {
    // the batch loop: NextBatch → HasBatch → RunBatch → NextBatch
    expect(fleetRollout.States.NextBatch!.Next).toBe('HasBatch');
    expect((fleetRollout.States.HasBatch!.Choices ?? []).map((c) => c.Next)).toContain('RunBatch');
    expect(fleetRollout.States.RunBatch!.Next).toBe('NextBatch');
    expect(fleetRollout.States.RunBatch!.Resource).toMatch(/startExecution\.sync/);
    const perBatch = ['NextBatch', 'HasBatch', 'RunBatch'].reduce((n, s) => n + EVENTS[fleetRollout.States[s]!.Type]!, 0);
    const perWave = Object.values(fleetRollout.States).reduce((n, s) => n + (EVENTS[s.Type] ?? 2), 0); // every state once
    const waves = 4;
    const batches = Math.ceil(HOSTS / BATCH_SIZE) + waves;
    const worst = batches * perBatch + waves * perWave + 10;
    expect(worst).toBeLessThan(MAX_HISTORY / 4);
  });

  it('bounds each RolloutBatch history by the batch size', () => {
    const map = rolloutBatch.States[rolloutBatch.StartAt]!;
    expect(map.Type).toBe('Map');
    expect(map.MaxConcurrencyPath).toBe('$.rollout.concurrency');
    const processor = (map.ItemProcessor ?? map.Iterator) as AslDefinition;
    const perHost = Object.values(processor.States).reduce((n, s) => n + (EVENTS[s.Type] ?? 2), 0) + 2; // + iteration start/end
    expect(BATCH_SIZE * perHost + 20).toBeLessThan(MAX_HISTORY / 5);
    // each host's HostUpgrade is its own child execution
    expect(Object.values(processor.States).some((s) => String(s.Resource).includes('startExecution.sync'))).toBe(true);
  });
});
