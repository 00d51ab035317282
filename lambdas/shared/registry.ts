/**
 * What the registry tasks share: one pool and store per container, migrated
 * on first use (migrations are idempotent and serialised by an advisory
 * lock), the alert sink, and the host-run dependencies.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type pg from 'pg';
import { SnsAlertSink, type AlertSink } from '../../core/alerts';
import { SfnExecutionHistory, type HostRunDeps } from '../../core/host-run';
import { createRegistryPool } from '../../core/registry/connect';
import { PgRegistryStore } from '../../core/registry/pg-store';
import type { RegistryStore } from '../../core/registry/store';
import { secretsManagerClient, sfnClient, snsClient } from './clients';
import type { FinishRunEnv, RegistryEnv } from './env';

export interface Registry {
  store: RegistryStore;
  pool: pg.Pool;
}

/** The registry of this container: the pool reads the secret, then the schema is brought up to date. */
export async function openRegistry(env: RegistryEnv, log: Logger): Promise<Registry> {
  const pool = await createRegistryPool({
    secretArn: env.REGISTRY_SECRET_ARN,
    secretsManager: secretsManagerClient(),
    onError: (err) => log.warn('registry connection error', { error: err.message }),
  });
  const store = new PgRegistryStore(pool);
  await store.migrate();
  return { store, pool };
}

export const alertSink = (env: FinishRunEnv): AlertSink => new SnsAlertSink(snsClient(), env.ALERT_TOPIC_ARN);

/** Tasks that never alert get a sink that refuses loudly if the core ever tries. */
export const noAlerts: AlertSink = {
  publish: async (subject) => {
    throw new Error(`this task has no alert topic (tried to publish "${subject}")`);
  },
};

export async function hostRunDeps(env: RegistryEnv, log: Logger, alerts: AlertSink = noAlerts): Promise<HostRunDeps> {
  const { store } = await openRegistry(env, log);
  return { store, alerts, executions: new SfnExecutionHistory(sfnClient()), leaseTtlSeconds: env.LEASE_TTL_SECONDS };
}
