/**
 * One attempt of a Task state. The library calls a local handler per Task
 * state (keyed by state name); the handler fills in the context fields the
 * library does not have (`$$.Task.Token`, `$$.State.*`), records the attempt's
 * history, dispatches on the state's `Resource` (integrations.ts), waits for
 * its task token when the resource asks for one (task-tokens.ts), and runs the
 * Wait/Pass states definition.ts substituted with lab tasks.
 */
import { randomBytes } from 'node:crypto';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import type { LabClock } from '../clock';
import { waitMillis, type Json, type PreparedDefinition, type StateDef } from './definition';
import { ExecutionClosedError, StatesRuntimeError, TaskError } from './errors';
import type { Attempt, Execution } from './execution-lifecycle';
import { recordEvent, recordTaskEvent, toJson } from './history';
import { admitPayload } from './limits';
import { parseResource, type ServiceIntegrations } from './integrations';
import { newTaskToken, type TaskTokens } from './task-tokens';

/**
 * Placeholders the lifecycle puts in the library's context object: the
 * library has one context per execution, so per-attempt values are filled in
 * here, in the task's effective input.
 */
export const CTX = {
  token: `__lab_ctx_task_token_${randomBytes(6).toString('hex')}__`,
  stateName: `__lab_ctx_state_name_${randomBytes(6).toString('hex')}__`,
  enteredTime: `__lab_ctx_entered_time_${randomBytes(6).toString('hex')}__`,
  retryCount: `__lab_ctx_retry_count_${randomBytes(6).toString('hex')}__`,
};

/** Replaces the context placeholders in a task's effective input. */
function fillContext(value: unknown, values: { token?: string; stateName: string; enteredTime: string; retryCount: number }): unknown {
  if (typeof value === 'string') {
    if (value === CTX.retryCount) return values.retryCount;
    return value
      .replaceAll(CTX.token, values.token ?? '')
      .replaceAll(CTX.stateName, values.stateName)
      .replaceAll(CTX.enteredTime, values.enteredTime);
  }
  if (Array.isArray(value)) return value.map((v) => fillContext(v, values));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, fillContext(v, values)]));
  }
  return value;
}

export interface TaskRunnerOptions {
  /** The lab's time scale: substituted Wait states' pauses, HeartbeatSeconds (see definition.ts). */
  clock: LabClock;
  integrations: ServiceIntegrations;
  tokens: TaskTokens;
}

export class TaskRunner {
  constructor(private readonly options: TaskRunnerOptions) {}

  async run(exec: Execution, prepared: PreparedDefinition, stateName: string, def: StateDef, rawInput: Json): Promise<Json> {
    // Let the event consumer record the library's StateEntered first.
    await nextMacrotask();
    if (exec.status !== 'RUNNING' || exec.closed.signal.aborted) throw new ExecutionClosedError('execution closed');
    const parsed = parseResource(String(def.Resource));
    if (parsed.kind === 'lab-wait') {
      const original = prepared.substituted.get(stateName)!;
      let ms: number;
      try {
        ms = waitMillis(original, rawInput, this.options.clock.scale);
      } catch (err) {
        throw new StatesRuntimeError((err as Error).message);
      }
      await sleep(ms, exec.closed.signal);
      return rawInput;
    }
    if (parsed.kind === 'lab-pass') return (prepared.substituted.get(stateName)!.Result ?? null) as Json;

    const retryCount = exec.attemptsByState.get(stateName) ?? 0;
    exec.attemptsByState.set(stateName, retryCount + 1);
    const token = parsed.pattern === 'token' ? newTaskToken() : undefined;
    const input = fillContext(rawInput, { token, stateName, enteredTime: new Date().toISOString(), retryCount }) as Json;
    const attempt: Attempt = {
      stateName,
      closed: false,
      token,
      resourceType: parsed.resourceType,
      resource: parsed.resourceName,
      lambdaDirect: parsed.kind === 'lambda-direct',
      abort: new AbortController(),
    };
    const signal = AbortSignal.any([attempt.abort.signal, exec.closed.signal]);
    exec.openAttempts.push(attempt);
    const timeoutInSeconds = typeof def.TimeoutSeconds === 'number' ? def.TimeoutSeconds : undefined;
    const heartbeatInSeconds = typeof def.HeartbeatSeconds === 'number' ? def.HeartbeatSeconds : undefined;
    if (attempt.lambdaDirect) {
      recordEvent(exec, 'LambdaFunctionScheduled', {
        resource: parsed.resourceName,
        input: toJson(input),
        inputDetails: { truncated: false },
        ...(timeoutInSeconds ? { timeoutInSeconds } : {}),
      });
    } else {
      recordEvent(exec, 'TaskScheduled', {
        resourceType: parsed.resourceType,
        resource: parsed.resourceName,
        region: 'us-east-1',
        parameters: toJson(input),
        ...(timeoutInSeconds ? { timeoutInSeconds } : {}),
        ...(heartbeatInSeconds ? { heartbeatInSeconds } : {}),
      });
    }
    recordTaskEvent(exec, attempt, 'Started');
    if (token) this.options.tokens.open(token, exec.executionArn, stateName);

    try {
      // States.DataLimitExceeded (limits.ts) is terminal: the execution fails, no Retry or Catch runs.
      if (!admitPayload(exec, toJson(input), `the input of task state ${stateName} after Parameters`)) throw new ExecutionClosedError('payload too large');
      let result = await this.options.integrations.dispatch(exec, stateName, parsed, input, signal);
      if (token) result = await this.options.tokens.wait(token, heartbeatInSeconds, this.options.clock, signal, (cause) => this.timeOut(exec, attempt, cause));
      if (!admitPayload(exec, toJson(result), `the output of task state ${stateName}`)) throw new ExecutionClosedError('payload too large');
      if (!attempt.closed) recordTaskEvent(exec, attempt, 'Succeeded', { output: toJson(result), outputDetails: { truncated: false } });
      return result;
    } catch (err) {
      const failure = err instanceof Error ? err : new TaskError('States.TaskFailed', String(err));
      if (!attempt.closed && !(failure instanceof ExecutionClosedError) && failure.name !== 'States.Timeout') {
        recordTaskEvent(exec, attempt, 'Failed', { error: failure.name, cause: failure.message });
      }
      throw failure;
    } finally {
      attempt.closed = true;
      exec.openAttempts = exec.openAttempts.filter((a) => a !== attempt);
      if (token) this.options.tokens.close(token);
    }
  }

  /** Closes an attempt that ran out of time (TimeoutSeconds or HeartbeatSeconds). */
  timeOut(exec: Execution, attempt: Attempt, cause: string): void {
    attempt.closed = true;
    attempt.abort.abort();
    exec.openAttempts = exec.openAttempts.filter((a) => a !== attempt);
    if (attempt.token) this.options.tokens.close(attempt.token);
    recordTaskEvent(exec, attempt, 'TimedOut', { error: 'States.Timeout', cause });
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new ExecutionClosedError('execution closed'));
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new ExecutionClosedError('execution closed'));
    }, { once: true });
  });
}
