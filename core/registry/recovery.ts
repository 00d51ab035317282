/**
 * How the registry's pool survives the database going away and its password
 * changing: which driver errors mean "the server is not there right now" or
 * "these credentials no longer work", and a pool that, when a *new*
 * connection fails for one of those reasons, waits or re-reads its
 * credentials and connects again.
 *
 * Only connecting is retried here: nothing has been sent when a connection
 * fails to open, so trying again cannot do anything twice. A query that
 * loses its connection half way is not retried here (it may have
 * committed); the task fails with a TransientError and Step Functions runs
 * the whole task again, which every task is written to survive.
 *
 * Facts this rests on:
 * - PostgreSQL answers a wrong password with SQLSTATE 28P01
 *   (invalid_password); a server shutting down or starting up refuses with
 *   57P01 admin_shutdown / 57P02 crash_shutdown / 57P03 cannot_connect_now;
 *   class 08 is connection exceptions (PostgreSQL docs, Appendix A "PostgreSQL
 *   Error Codes", https://www.postgresql.org/docs/current/errcodes-appendix.html).
 * - Secrets Manager single-user rotation: open connections are not dropped,
 *   only new connections use the new password, and between the password
 *   change in the database and the secret's update "there is a low risk of
 *   the database denying calls that use the rotated credentials … mitigate
 *   this risk with an appropriate retry strategy"; during rotation the new
 *   value is the secret's AWSPENDING version (Secrets Manager user guide,
 *   "Lambda function rotation strategies",
 *   https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotation-strategy.html).
 */
import pg from 'pg';
import { TransientError } from '../errors';
import { redactSecrets } from '../redact';

/** The password was refused (28P01). */
export function isAuthenticationFailure(err: unknown): boolean {
  return codeOf(err) === '28P01';
}

const UNAVAILABLE_CODES = new Set([
  '57P01', // admin_shutdown: terminated by the server (restart, failover, pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or shutting down
  '08000', // connection_exception
  '08001', // sqlclient_unable_to_establish_sqlconnection
  '08003', // connection_does_not_exist
  '08004', // sqlserver_rejected_establishment_of_sqlconnection
  '08006', // connection_failure
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
]);

/** What node-postgres says, without a code, when the socket under a client goes away. */
const UNAVAILABLE_MESSAGES = [
  'Connection terminated unexpectedly',
  'Connection terminated',
  'Connection terminated due to connection timeout',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
];

/** The server is not reachable or cut the connection: worth trying again later. */
export function isRegistryUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = codeOf(err);
  return (code !== undefined && UNAVAILABLE_CODES.has(code)) || UNAVAILABLE_MESSAGES.includes(err.message);
}

/**
 * A registry failure the state machines should retry (TransientError, in
 * TRANSIENT_ERRORS of state-machines/task-policy.ts): the database was
 * unreachable, or refused the credentials even after they were re-read.
 * Anything else is returned as it is.
 */
export function asRegistryTransient(err: unknown): unknown {
  if (err instanceof TransientError || !(err instanceof Error)) return err;
  if (isRegistryUnavailable(err)) return new TransientError(`registry database unavailable: ${redactSecrets(err.message)}`, { cause: err });
  if (isAuthenticationFailure(err)) {
    return new TransientError('registry database refused the credentials of the registry secret, also after reading the secret again (rotation in progress?)', { cause: err });
  }
  return err;
}

function codeOf(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

export interface ConnectRecovery {
  /** Waits before each further attempt to open a connection while the server is unavailable (ms). */
  readonly unavailableDelaysMs: readonly number[];
  /** Waits before each further attempt after an authentication failure, credentials re-read each time (ms). */
  readonly authDelaysMs: readonly number[];
  /**
   * Re-reads the credentials after an authentication failure; resolves to
   * whether anything changed. Absent: a fixed URL, nothing to re-read.
   */
  readonly refreshCredentials?: () => Promise<boolean>;
}

/** About 6 s of waiting for a restarting server; after that Step Functions' own Retry takes over. */
export const DEFAULT_RECOVERY: ConnectRecovery = {
  unavailableDelaysMs: [100, 200, 400, 800, 1600, 3200],
  authDelaysMs: [0, 500, 1000, 2000],
};

type ConnectCallback = (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void;

/**
 * A pg.Pool whose new connections recover as described above. `pool.query`
 * goes through `connect` too, so every store call benefits.
 */
export class RecoveringPool extends pg.Pool {
  constructor(
    options: pg.PoolConfig,
    private readonly recovery: ConnectRecovery = DEFAULT_RECOVERY,
  ) {
    super(options);
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
    const attempt = this.connectRecovering();
    if (!callback) return attempt;
    attempt.then(
      (client) => callback(undefined, client, (release) => client.release(release as Error | boolean | undefined)),
      (err: Error) => callback(err, undefined, () => undefined),
    );
  }

  private async connectRecovering(): Promise<pg.PoolClient> {
    let unavailable = 0;
    let auth = 0;
    for (;;) {
      try {
        return await super.connect();
      } catch (err) {
        if (this.ending) throw err;
        if (isRegistryUnavailable(err) && unavailable < this.recovery.unavailableDelaysMs.length) {
          await sleep(this.recovery.unavailableDelaysMs[unavailable++]!);
          continue;
        }
        if (isAuthenticationFailure(err) && this.recovery.refreshCredentials && auth < this.recovery.authDelaysMs.length) {
          await sleep(this.recovery.authDelaysMs[auth++]!);
          await this.recovery.refreshCredentials();
          continue;
        }
        throw err;
      }
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
