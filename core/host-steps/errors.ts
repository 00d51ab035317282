/**
 * Named errors of the host-step tasks. Step Functions matches Retry/Catch on
 * the Lambda's `errorType`, which is the thrown error's `name`: keep each
 * `name` stable, the state machines depend on the exact string.
 */

/** A step input (run context or extra) would not pass the document's `allowedPattern`. Nothing was sent. */
export class InvalidStepInputError extends Error {
  override readonly name = 'InvalidStepInputError';
  constructor(
    message: string,
    /** Parameter or field names that were refused; never their values. */
    readonly fields: string[] = [],
  ) {
    super(message);
  }
}

/** SSM refused the instance (not managed, not registered, terminated). The state machine maps it to `unreachable`. */
export class HostUnreachableError extends Error {
  override readonly name = 'HostUnreachableError';
  constructor(
    readonly instanceId: string,
    cause?: unknown,
  ) {
    super(`instance ${instanceId} is not reachable through SSM (InvalidInstanceId)`, { cause });
  }
}

/**
 * A failure on the way to AWS, not an answer from it: the connection was
 * reset or timed out, or the service answered 5xx, after the SDK's own
 * retries. The state machines retry `TransientError` with backoff
 * (state-machines/task-policy.ts TRANSIENT_ERRORS); without it a poll that
 * lost its connection would be caught as a step failure and send a healthy
 * host down the restore path. Safe for poll-step (a read) and send-step
 * (a retry finds the earlier command by its comment).
 */
export class TransientError extends Error {
  override readonly name = 'TransientError';
}

const NETWORK_ERROR_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'AbortError']);
const NETWORK_ERROR_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED']);

/** `err` as a TransientError when it is a network failure or a 5xx; otherwise `err` itself. */
export function asTransient(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const e = err as Error & { code?: unknown; $metadata?: { httpStatusCode?: number }; $fault?: unknown };
  const status = e.$metadata?.httpStatusCode;
  const network = NETWORK_ERROR_NAMES.has(e.name) || (typeof e.code === 'string' && NETWORK_ERROR_CODES.has(e.code));
  const serverSide = e.$fault === 'server' || (typeof status === 'number' && status >= 500);
  if (!network && !serverSide) return err;
  return new TransientError(`${e.name}: ${e.message}`, { cause: err });
}
