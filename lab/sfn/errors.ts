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
import './polyfill';
import { StateMachine } from 'aws-local-stepfunctions';

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

let statesTimeoutErrorClass: Promise<new () => Error> | undefined;
/**
 * The library excludes timeouts from `States.TaskFailed` with an `instanceof`
 * check on a class it does not export; a heartbeat timeout raised by the
 * engine must be an instance of it. Obtain the class once from a 1 ms Task
 * timeout.
 */
export function statesTimeoutError(): Promise<new () => Error> {
  statesTimeoutErrorClass ??= (async () => {
    const sm = new StateMachine(
      { StartAt: 'T', States: { T: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:000000000000:function:x', TimeoutSeconds: 0.001, End: true } } } as never,
      { validationOptions: { noValidate: true } },
    );
    const run = sm.run({}, { overrides: { taskResourceLocalHandlers: { T: () => new Promise((r) => setTimeout(() => r(null), 50)) } } });
    try {
      await run.result;
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      if (cause instanceof Error && cause.name === 'States.Timeout') return cause.constructor as new () => Error;
    }
    throw new Error('could not obtain the library States.Timeout error class');
  })();
  return statesTimeoutErrorClass;
}
