/**
 * What the registry task handlers share: the environment, one pool and store
 * per container (migrated once on cold start; migrations are idempotent and
 * serialised by an advisory lock), the alert sink, and the zod edge.
 */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Logger } from '@aws-lambda-powertools/logger';
import type pg from 'pg';
import type { z } from 'zod';
import type { AlertSink, HostRunDeps } from '../../core/host-run';
import { createRegistryPool } from '../../core/registry/connect';
import { redactSecrets } from '../../core/redact';
import { PgRegistryStore } from '../../core/registry/pg-store';
import type { RegistryStore } from '../../core/registry/store';
import { RegistryEnv } from './registry-env';

export const logger = new Logger({ serviceName: 'fleetwave' });

/** Parse `process.env` with the function's schema; the message names each bad variable. */
export function parseEnv<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const r = schema.safeParse(env);
  if (!r.success) {
    const bad = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid function environment: ${bad}`);
  }
  return r.data;
}

let storePromise: Promise<{ store: RegistryStore; pool: pg.Pool }> | undefined;

export async function registryStore(): Promise<RegistryStore> {
  return (await registry()).store;
}

/** The container's pool and store, made and migrated on first use. */
export function registry(): Promise<{ store: RegistryStore; pool: pg.Pool }> {
  storePromise ??= (async () => {
    const env = parseEnv(RegistryEnv);
    const pool = await createRegistryPool({
      secretArn: env.REGISTRY_SECRET_ARN,
      secretsManager: new SecretsManagerClient({}),
      onError: (err) => logger.warn('registry connection error', { error: err.message }),
    });
    const store = new PgRegistryStore(pool);
    await store.migrate();
    return { store, pool };
  })().catch((err: unknown) => {
    storePromise = undefined; // let the next invocation try again
    throw err;
  });
  return storePromise;
}

export function snsAlerts(topicArn: string, client = new SNSClient({})): AlertSink {
  return {
    async publish(subject, message) {
      await client.send(
        new PublishCommand({ TopicArn: topicArn, Subject: subject.slice(0, 99), Message: JSON.stringify(message, null, 2) }),
      );
    },
  };
}

export async function hostRunDeps(alerts: AlertSink = { publish: async () => undefined }): Promise<HostRunDeps> {
  const env = parseEnv(RegistryEnv);
  return { store: await registryStore(), alerts, leaseTtlSeconds: env.LEASE_TTL_SECONDS };
}

/** Errors leave the handler with their name intact (Step Functions matches it) and no secret in the message. */
export function rethrowScrubbed(err: unknown): never {
  if (err instanceof Error) {
    err.message = redactSecrets(err.message);
    logger.error('task failed', { errorName: err.name, errorMessage: err.message });
    throw err;
  }
  throw new Error(redactSecrets(String(err)));
}
