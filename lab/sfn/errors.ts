/**
 * Errors thrown from the engine's Task handlers into aws-local-stepfunctions.
 *
 * How the library matches them (build/main.node.esm.js, StateExecutor):
 * - `ErrorEquals` is compared with the thrown error's `name`;
 * - a caught error's output is `{Error: error.name, Cause: error.message}`;
 * - `States.ALL` matches anything retryable/catchable, `States.TaskFailed`
 *   anything thrown by a Task except an instance of the library's own
 *   (unexported) `StatesTimeoutError` class;
 * - `isRetryable` / `isCatchable` getters, when present and false, make the
 *   error skip Retry / Catch (this is how `States.Runtime` behaves).
 * So a task failure is an Error whose `name` is the Step Functions error name
 * and whose `message` is the Cause text.
 */

export class TaskError extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}

/** Step Functions' `States.Runtime`: never retried, never caught; fails the execution. */
export class StatesRuntimeError extends Error {
  override readonly name = 'States.Runtime';
  readonly isRetryable = false;
  readonly isCatchable = false;
}

/** Used inside the engine when an execution ends while a task is still running. */
export class ExecutionClosedError extends StatesRuntimeError {}
