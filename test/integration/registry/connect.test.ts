import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createRegistryPool } from '../../../core/registry/connect';
import { RegistrySecretError } from '../../../core/registry/errors';
import { PgRegistryStore } from '../../../core/registry/pg-store';
import { createTestDatabase } from '../../support/database';

const sm = mockClient(SecretsManagerClient);
afterEach(() => sm.reset());

const ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:registry-AbCdEf';

describe('createRegistryPool', () => {
  it('connects with an RDS-style secret, without TLS for a local server', async () => {
    const url = new URL(inject('databaseUrl'));
    sm.on(GetSecretValueCommand, { SecretId: ARN }).resolves({
      SecretString: JSON.stringify({
        engine: 'postgres',
        host: url.hostname,
        port: Number(url.port),
        username: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password) || 'trust-auth-ignores-this',
        dbname: url.pathname.slice(1),
      }),
    });

    const pool = await createRegistryPool({ secretArn: ARN, secretsManager: new SecretsManagerClient({ region: 'us-east-1' }) });
    try {
      const { rows } = await pool.query('SELECT 1 AS one');
      expect(rows[0].one).toBe(1);
      expect(pool.options.ssl).toBe(false);
      expect(pool.options.max).toBe(2);
    } finally {
      await pool.end();
    }
  });

  it('verifies the server certificate for a remote host', async () => {
    sm.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ host: 'fleetwave.cluster-abc.us-east-1.rds.amazonaws.com', port: '5432', username: 'fw', password: 'pw' }),
    });
    const pool = await createRegistryPool({ secretArn: ARN, secretsManager: new SecretsManagerClient({ region: 'us-east-1' }) });
    try {
      expect(pool.options.ssl).toEqual({ rejectUnauthorized: true });
      expect(pool.options).toMatchObject({ port: 5432, database: 'postgres', max: 2 });
    } finally {
      await pool.end();
    }
  });

  it('names missing secret fields without echoing the secret', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ host: 'db', password: 'hunter2' }) });
    const err = await createRegistryPool({ secretArn: ARN, secretsManager: new SecretsManagerClient({ region: 'us-east-1' }) }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RegistrySecretError);
    expect((err as Error).message).toMatch(/username/);
    expect((err as Error).message).not.toContain('hunter2');

    sm.on(GetSecretValueCommand).resolves({ SecretString: 'password=hunter2 not json' });
    await expect(
      createRegistryPool({ secretArn: ARN, secretsManager: new SecretsManagerClient({ region: 'us-east-1' }) }),
    ).rejects.toThrow(/is not JSON$/);
  });

  it('works from a database URL: a store on that pool migrates and reads', async () => {
    const db = await createTestDatabase('fw_connect');
    const pool = await createRegistryPool({ databaseUrl: db.url });
    try {
      expect(pool.options.ssl).toBeUndefined();
      const store = new PgRegistryStore(pool);
      expect((await store.migrate()).applied.length).toBeGreaterThan(0);
      expect(await store.listFleets()).toEqual([]);
    } finally {
      await pool.end();
      await db.drop();
    }
  });

  it('asks for verified TLS for a remote URL without sslmode and scrubs an invalid URL', async () => {
    const pool = await createRegistryPool({ databaseUrl: 'postgres://fw:pw@db.example.com:5432/fleetwave' });
    try {
      expect(pool.options.ssl).toEqual({ rejectUnauthorized: true });
    } finally {
      await pool.end();
    }
    const err = await createRegistryPool({ databaseUrl: 'postgres://fw:hunter2@bad host/db' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistrySecretError);
    expect((err as Error).message).toContain('postgres://***@bad host/db');
    expect((err as Error).message).not.toContain('hunter2');
  });
});
