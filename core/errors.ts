/**
 * The error vocabulary shared by every task. Step Functions matches Retry and
 * Catch on the Lambda's `errorType`, which is the thrown error's `name`: each
 * `name` here is a contract with the state machines and must stay stable.
 * Aggregate-specific refusals live beside their aggregate (registry/errors.ts,
 * host-steps/errors.ts, backup-storage/errors.ts, compliance/errors.ts,
 * host-run/errors.ts); what every task can throw lives here.
 */
import type { z } from 'zod';

/**
 * A task's event, or an operator's request inside it, failed its schema.
 * `fields` names each refused field (never its value), so the message can be
 * read in the Step Functions console without leaking what was typed.
 */
export class InvalidTaskInputError extends Error {
  override readonly name = 'InvalidTaskInputError';
  constructor(
    message: string,
    readonly fields: string[] = [],
  ) {
    super(message);
  }
}

/** A Lambda environment variable is missing or malformed: a deployment defect, never retried. */
export class InvalidEnvironmentError extends Error {
  override readonly name = 'InvalidEnvironmentError';
  constructor(
    readonly variables: string[],
    detail: string,
  ) {
    super(`invalid Lambda environment: ${detail}`);
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

/** zod issues as `field: message` phrases; the path names the field, the message says what is wrong. */
export function describeIssues(error: z.ZodError, root = '(input)'): { fields: string[]; detail: string } {
  const fields = error.issues.map((i) => i.path.map(String).join('.') || root);
  const detail = error.issues.map((i, n) => `${fields[n]}: ${i.message}`).join('; ');
  return { fields, detail };
}

/** Parse `value` with `schema`; on failure an InvalidTaskInputError names `what` and every bad field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const { fields, detail } = describeIssues(parsed.error);
  throw new InvalidTaskInputError(`invalid ${what}: ${detail}`, fields);
}

/** Exhaustiveness check for discriminated unions: unreachable when every case is handled. */
export function assertNever(value: never, what = 'value'): never {
  throw new InvalidTaskInputError(`unexpected ${what}: ${JSON.stringify(value)}`);
}
