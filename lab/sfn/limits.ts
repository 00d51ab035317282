/**
 * Step Functions quotas the lab enforces on every execution, and the counts
 * it keeps of them (state transitions, history events) for tests and the
 * bench.
 *
 * - History: "Execution history: 25,000 events in a single state machine
 *   execution history"; an execution that reaches it fails, and nothing
 *   inside it can catch that
 *   (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html#service-limits-state-machine-executions).
 *   The lab fails it with `States.Runtime` (the error Step Functions gives
 *   an execution it cannot continue; "an execution failed due to some
 *   exception that it couldn't process",
 *   https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html)
 *   and the closing ExecutionFailed is the last event, the 25,000th.
 * - Payload: "Maximum input or output size for a task, state, or execution:
 *   256 KiB of data as a UTF-8 encoded string" (same quota page).
 *   `States.DataLimitExceeded` is "a terminal error that can't be caught by
 *   the States.ALL error type", reported when a connector's output, a
 *   state's output, or a state's input after Parameters exceeds it
 *   (concepts-error-handling.html above). The lab fails the execution with
 *   it: no Retry or Catch runs.
 *
 * The hooks are small on purpose: history.ts asks `admitEvent` before it
 * records an event, task-runner.ts and history.ts's event consumer call
 * `admitPayload`, and the lifecycle reads `limitOutcome` when the run ends.
 */
import type { Execution } from './execution-lifecycle';

/** Events in one execution's history (hard quota). */
export const MAX_HISTORY_EVENTS = 25_000;
/** Bytes of a task's or state's input or output, and of an execution's input or output (UTF-8). */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

/** The counts a test or the bench reads from a real execution. */
export interface ExecutionMetrics {
  /** Each state entered, and each Retry of a state (Step Functions bills a transition for each). */
  stateTransitions: number;
  /** Events in GetExecutionHistory. */
  historyEvents: number;
}

/** What an execution carries for the limits: its events, the terminal failure once a limit is hit, and how to stop the run. */
export type LimitedExecution = Pick<Execution, 'events'> & Partial<Pick<Execution, 'limitFailure' | 'abortRun' | 'stateTransitions'>>;

const CLOSING_EVENTS = new Set(['ExecutionSucceeded', 'ExecutionFailed', 'ExecutionTimedOut', 'ExecutionAborted']);

/** Ends the execution with a terminal error that no Retry or Catch sees. */
function failExecution(exec: LimitedExecution, error: string, cause: string): void {
  if (exec.limitFailure) return;
  exec.limitFailure = { error, cause };
  exec.abortRun?.();
}

/**
 * Whether an event of `type` may still be recorded. The event that would
 * leave no room for the closing event fails the execution instead; after
 * that only the closing event is recorded.
 */
export function admitEvent(exec: LimitedExecution, type: string): boolean {
  if (CLOSING_EVENTS.has(type)) return true;
  if (exec.limitFailure) return false;
  if (exec.events.length >= MAX_HISTORY_EVENTS - 1) {
    failExecution(
      exec,
      'States.Runtime',
      `The execution reached the maximum number of events in its history (${MAX_HISTORY_EVENTS}); see Step Functions service quotas.`,
    );
    return false;
  }
  return true;
}

/**
 * Whether a value (`json`: its JSON text, as Step Functions carries it;
 * `what`: "the output of state X") fits the payload quota; when it does not,
 * the execution fails with States.DataLimitExceeded and false is returned.
 */
export function admitPayload(exec: LimitedExecution, json: string, what: string): boolean {
  const bytes = Buffer.byteLength(json);
  if (bytes <= MAX_PAYLOAD_BYTES) return true;
  failExecution(
    exec,
    'States.DataLimitExceeded',
    `${what} is ${bytes} bytes, more than the ${MAX_PAYLOAD_BYTES} bytes (256 KiB) Step Functions allows for a task's or state's input or output.`,
  );
  return false;
}

/** The outcome an execution ends with once a limit was hit, whatever the run itself returned. */
export function limitOutcome(exec: LimitedExecution): { status: 'FAILED'; error: string; cause: string } | undefined {
  return exec.limitFailure ? { status: 'FAILED', ...exec.limitFailure } : undefined;
}

export function executionMetrics(exec: LimitedExecution): ExecutionMetrics {
  return { stateTransitions: exec.stateTransitions ?? 0, historyEvents: exec.events.length };
}
