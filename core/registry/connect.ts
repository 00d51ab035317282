/**
 * Makes the registry's `pg.Pool` from either a URL (the lab, the CLI with
 * DATABASE_URL) or a Secrets Manager secret in the RDS format (AWS: the
 * stack's Aurora cluster or an existing database).
 *
 * Never logs the URL or the password. Errors raised here are scrubbed with
 * `redactSecrets` (core/redact.ts); callers logging pool/driver errors
 * should use it too.
 *
 * On Lambda (Node >= 18) the RDS CA bundle is not trusted by default: set
 * NODE_EXTRA_CA_CERTS=/var/runtime/ca-cert.pem in the function's environment
 * (or pass `ca`), since TLS here verifies the server certificate.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import pg from 'pg';
import { z } from 'zod';
import { RegistrySecretError } from './errors';
import { DEFAULT_RECOVERY, RecoveringPool, type ConnectRecovery } from './recovery';
import { redactSecrets, scrubError } from '../redact';

interface PoolTuning {
  /** Connections in the pool. Default 2: a Lambda container serves one event at a time. */
  max?: number;
  /** Extra CA certificates (PEM) for TLS verification. */
  ca?: string;
  /** Called with an already-redacted error when an idle connection fails (e.g. Aurora scaling). */
  onError?: (err: Error) => void;
  /** How opening a connection waits for a restarting server and retries refused credentials (recovery.ts). */
  recovery?: Omit<ConnectRecovery, 'refreshCredentials'>;
}

export type RegistryConnectionConfig =
  | ({ databaseUrl: string } & PoolTuning)
  | ({ secretArn: string; secretsManager: SecretsManagerClient } & PoolTuning);

/** The RDS-managed secret shape (extra keys such as engine or dbClusterIdentifier are ignored). */
export const RdsSecret = z.object({
  host: z.string().min(1),
  port: z.coerce.number().int().min(1).max(65535).default(5432),
  username: z.string().min(1),
  password: z.string().min(1),
  dbname: z.string().min(1).default('postgres'),
});
export type RdsSecret = z.infer<typeof RdsSecret>;

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

export function isLocalHost(host: string): boolean {
  return LOCAL_HOSTS.has(host.toLowerCase());
}

const BASE: pg.PoolConfig = {
  max: 2,
  idleTimeoutMillis: 30_000,
  connectionTimeoutMillis: 10_000,
  // a stuck statement must not hold a Lambda until its own timeout
  statement_timeout: 30_000,
  application_name: 'fleetwave',
};

/** Pool options for a secret; TLS verified unless the server is on this machine. */
export function poolConfigFromSecret(secret: RdsSecret, tuning: PoolTuning = {}): pg.PoolConfig {
  return {
    ...BASE,
    max: tuning.max ?? BASE.max,
    host: secret.host,
    port: secret.port,
    user: secret.username,
    password: secret.password,
    database: secret.dbname,
    ssl: isLocalHost(secret.host) ? false : { rejectUnauthorized: true, ...(tuning.ca ? { ca: tuning.ca } : {}) },
  };
}

/**
 * The secret's AWSCURRENT value (default), or another staging label's.
 * `AWSPENDING` answers `null` when no rotation is under way.
 */
export async function readRegistrySecret(client: SecretsManagerClient, secretArn: string): Promise<RdsSecret>;
export async function readRegistrySecret(client: SecretsManagerClient, secretArn: string, stage: 'AWSPENDING'): Promise<RdsSecret | null>;
export async function readRegistrySecret(client: SecretsManagerClient, secretArn: string, stage?: 'AWSPENDING'): Promise<RdsSecret | null> {
  let text: string | undefined;
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretArn, ...(stage ? { VersionStage: stage } : {}) }));
    text = out.SecretString;
  } catch (err) {
    if (stage && (err as Error).name === 'ResourceNotFoundException') return null;
    throw scrubError(err);
  }
  if (!text) throw new RegistrySecretError(`secret ${secretArn} has no SecretString`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // never echo the text: it is the secret
    throw new RegistrySecretError(`secret ${secretArn} is not JSON`);
  }
  const parsed = RdsSecret.safeParse(json);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ');
    throw new RegistrySecretError(`secret ${secretArn} is missing or has invalid fields: ${fields}`);
  }
  return parsed.data;
}

/**
 * The registry's pool. Every pool made here has an 'error' listener (an idle
 * client's error is emitted on the pool; unheard, it kills the process) and
 * opens connections through RecoveringPool: a restarting server is waited
 * for, and with a secret, refused credentials make the pool read the secret
 * again (AWSCURRENT, then AWSPENDING while a rotation is under way) before
 * the next attempt, so a warm Lambda follows a rotation instead of failing
 * with the password it read when it started.
 */
export async function createRegistryPool(config: RegistryConnectionConfig): Promise<pg.Pool> {
  let options: pg.PoolConfig;
  let refreshCredentials: ConnectRecovery['refreshCredentials'];
  if ('databaseUrl' in config) {
    let host: string;
    try {
      host = new URL(config.databaseUrl).hostname.replace(/^\[|\]$/g, '');
    } catch {
      throw new RegistrySecretError(`invalid database URL: ${redactSecrets(config.databaseUrl)}`);
    }
    options = {
      ...BASE,
      max: config.max ?? BASE.max,
      connectionString: config.databaseUrl,
      // sslmode in the URL wins; otherwise verified TLS for anything not local
      ...(/[?&]sslmode=/.test(config.databaseUrl) || isLocalHost(host)
        ? {}
        : { ssl: { rejectUnauthorized: true, ...(config.ca ? { ca: config.ca } : {}) } }),
    };
  } else {
    const { secretsManager, secretArn } = config;
    let current = await readRegistrySecret(secretsManager, secretArn);
    options = { ...poolConfigFromSecret(current, config), Client: clientWith(() => poolConfigFromSecret(current, config)) };
    refreshCredentials = async () => {
      const latest = await readRegistrySecret(secretsManager, secretArn);
      if (!sameCredentials(latest, current)) {
        current = latest;
        return true;
      }
      const pending = await readRegistrySecret(secretsManager, secretArn, 'AWSPENDING');
      if (pending && !sameCredentials(pending, current)) {
        current = pending;
        return true;
      }
      return false;
    };
  }
  const pool = new RecoveringPool(options, { ...DEFAULT_RECOVERY, ...config.recovery, refreshCredentials });
  pool.on('error', (err) => {
    config.onError?.(scrubError(err));
  });
  return pool;
}

const sameCredentials = (a: RdsSecret, b: RdsSecret) =>
  a.host === b.host && a.port === b.port && a.username === b.username && a.password === b.password && a.dbname === b.dbname;

/**
 * The pool makes each client with `new Client(pool.options)`; this Client
 * takes host, user and password from the credentials as they are *now*, so
 * connections opened after a refresh use the re-read secret.
 */
function clientWith(credentials: () => pg.PoolConfig): typeof pg.Client {
  return class RegistryClient extends pg.Client {
    constructor(config: pg.ClientConfig) {
      const { host, port, user, password, database, ssl } = credentials();
      super({ ...config, host, port, user, password, database, ssl });
    }
  };
}
