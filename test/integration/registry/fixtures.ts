/**
 * One migrated registry per test file, plus helpers that register a fleet and
 * hosts with unique ids so tests in a file never share rows.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { PgRegistryStore } from '../../../core/registry/pg-store';
import type { DatabaseMode } from '../../../core/models';
import type { Host } from '../../../core/registry/store';
import { createTestDatabase, type TestDatabase } from '../../support/database';

export interface Registry {
  db: TestDatabase;
  pool: pg.Pool;
  store: PgRegistryStore;
  close(): Promise<void>;
}

export async function openRegistry(): Promise<Registry> {
  const db = await createTestDatabase('fw_registry');
  const pool = new pg.Pool({ connectionString: db.url, max: 6 });
  const store = new PgRegistryStore(pool);
  await store.migrate();
  return {
    db,
    pool,
    store,
    async close() {
      await pool.end();
      await db.drop();
    },
  };
}

const suffix = () => randomBytes(3).toString('hex');
const instanceId = () => `i-${randomBytes(8).toString('hex')}`;

export async function seedHost(
  store: PgRegistryStore,
  overrides: Partial<{ fleetId: string; hostId: string; mode: DatabaseMode }> = {},
): Promise<Host> {
  const fleetId = overrides.fleetId ?? `fleet-${suffix()}`;
  await store.upsertFleet({ id: fleetId, config: {} });
  return store.upsertHost({
    id: overrides.hostId ?? `host-${suffix()}`,
    fleetId,
    instanceId: instanceId(),
    tier: 'staging',
    databaseMode: overrides.mode ?? 'embedded',
    composeDir: '/opt/semaphor',
    healthUrl: 'http://127.0.0.1:3000/api/health',
  });
}

export function stepOutcome(step: 'preflight' | 'backup' | 'health-check', commandId: string, status: 'Pending' | 'Success' | 'Failed') {
  return {
    step,
    status,
    commandId,
    result: status === 'Pending' ? null : { step, ok: status === 'Success' },
    error: status === 'Failed' ? 'unhealthy' : null,
    message: null,
    outputUri: null,
  } as const;
}

export const sha = (seed: string) =>
  // deterministic, valid-looking sha256 hex from a short seed
  Buffer.from(seed.padEnd(32, '0').slice(0, 32)).toString('hex');

export { randomUUID };
