/**
 * The registry pool against real PostgreSQL that checks passwords
 * (scram-sha-256, lab/postgres.ts): a password rotated under a warm pool,
 * the rotation window where only AWSPENDING holds the new password, and a
 * server restart while the pool is in use.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { TransientError } from '../../../core/errors';
import { createRegistryPool } from '../../../core/registry/connect';
import { asRegistryTransient } from '../../../core/registry/recovery';
import { labPassword, startPostgres, type PostgresServer } from '../../../lab/postgres';
import { createTestDatabase, type TestDatabase } from '../../support/database';

const sm = mockClient(SecretsManagerClient);
const ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:registry-AbCdEf';
const FAST = { unavailableDelaysMs: [50, 100, 200, 400, 800, 1600, 3200], authDelaysMs: [0, 0, 0] };

let db: TestDatabase;
const role = `fw_rot_${randomBytes(4).toString('hex')}`;
let admin: pg.Client;

/** What Secrets Manager holds: AWSCURRENT, and AWSPENDING while a rotation is under way. */
const secret = { current: '', pending: null as string | null };
const value = (password: string) => {
  const url = new URL(inject('databaseUrl'));
  return JSON.stringify({ engine: 'postgres', host: url.hostname, port: Number(url.port), username: role, password, dbname: db.name });
};

async function setPassword(password: string): Promise<void> {
  await admin.query(`ALTER ROLE ${role} PASSWORD ${admin.escapeLiteral(password)}`);
}

/**
 * Cut the role's connections, as a failover or the pool's idle timeout would,
 * and wait until the pool has seen its idle clients go: its next query needs
 * a new connection. (A query racing the cut fails on the dying connection
 * instead; that is a task-level retry, not this pool's.)
 */
async function dropConnections(pool?: pg.Pool): Promise<void> {
  await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role]);
  for (let i = 0; pool && pool.idleCount > 0 && i < 100; i++) await new Promise((r) => setTimeout(r, 20));
}

beforeAll(async () => {
  db = await createTestDatabase('fw_recovery');
  admin = new pg.Client({ connectionString: inject('databaseUrl') });
  await admin.connect();
  const password = labPassword();
  await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD ${admin.escapeLiteral(password)}`);
  await admin.query(`GRANT ALL ON DATABASE ${db.name} TO ${role}`);
  secret.current = value(password);
});

afterAll(async () => {
  await dropConnections().catch(() => undefined);
  await admin.query(`DROP OWNED BY ${role}`).catch(() => undefined);
  await admin.end();
  await db.drop();
  const c = new pg.Client({ connectionString: inject('databaseUrl') });
  await c.connect();
  await c.query(`DROP ROLE IF EXISTS ${role}`);
  await c.end();
});

beforeEach(() => {
  sm.on(GetSecretValueCommand).callsFake((input: { VersionStage?: string }) => {
    if (input.VersionStage === 'AWSPENDING') {
      if (secret.pending === null) throw new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret value for staging label: AWSPENDING", $metadata: {} });
      return { SecretString: secret.pending };
    }
    return { SecretString: secret.current };
  });
});
afterEach(() => sm.reset());

const openPool = () => createRegistryPool({ secretArn: ARN, secretsManager: new SecretsManagerClient({ region: 'us-east-1' }), recovery: FAST, onError: () => undefined });

describe('a registry pool whose password is rotated', () => {
  it('reads the secret again when the database refuses the password it started with, and reconnects', async () => {
    const pool = await openPool();
    try {
      expect((await pool.query('SELECT current_user AS u')).rows[0].u).toBe(role);
      const rotated = labPassword();
      await setPassword(rotated);
      secret.current = value(rotated);
      await dropConnections(pool);

      expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
      expect(sm.commandCalls(GetSecretValueCommand).length).toBeGreaterThanOrEqual(2);
    } finally {
      await pool.end();
    }
  });

  it('uses the AWSPENDING password in the window where the database has it and AWSCURRENT does not yet', async () => {
    const pool = await openPool();
    try {
      await pool.query('SELECT 1');
      const next = labPassword();
      secret.pending = value(next);
      await setPassword(next);
      await dropConnections(pool);

      expect((await pool.query('SELECT 2 AS two')).rows[0].two).toBe(2);
      expect(sm.commandCalls(GetSecretValueCommand).some((c) => c.args[0].input.VersionStage === 'AWSPENDING')).toBe(true);
      secret.current = secret.pending;
      secret.pending = null;
    } finally {
      await pool.end();
    }
  });

  it('gives up after its attempts with an error the state machines retry, naming no password', async () => {
    const pool = await openPool();
    try {
      await pool.query('SELECT 1');
      const unknownToTheSecret = labPassword();
      await setPassword(unknownToTheSecret);
      await dropConnections(pool);

      const err = await pool.query('SELECT 1').catch((e: unknown) => e);
      expect((err as { code?: string }).code).toBe('28P01');
      const transient = asRegistryTransient(err);
      expect(transient).toBeInstanceOf(TransientError);
      expect((transient as Error).message).not.toContain(unknownToTheSecret);
      // AWSCURRENT read again once per attempt after the first refusal
      expect(sm.commandCalls(GetSecretValueCommand).length).toBeGreaterThanOrEqual(1 + FAST.authDelaysMs.length);
    } finally {
      await pool.end();
      await setPassword(JSON.parse(secret.current).password as string);
    }
  });
});

describe('a registry pool while its server restarts', () => {
  let dir: string;
  let server: PostgresServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fw-restart-pg-'));
    server = await startPostgres(join(dir, 'data'));
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('survives the idle connection being cut and waits for the server instead of failing the next query', async () => {
    const idleErrors: Error[] = [];
    const pool = await createRegistryPool({ databaseUrl: server.url, max: 1, recovery: FAST, onError: (e) => idleErrors.push(e) });
    try {
      await pool.query('SELECT 1');
      const cut = new Promise<void>((resolve) => pool.once('error', () => resolve()));
      const restarting = server.restart();
      await cut; // the server is going down: the pool's only connection was terminated

      const { rows } = await pool.query('SELECT 42 AS answer');
      expect(rows[0].answer).toBe(42);
      await restarting;
      expect(idleErrors.length).toBe(1);
    } finally {
      await pool.end();
    }
  });
});
