/**
 * Execution history as GetExecutionHistory reports it: the event shape, how an
 * event is recorded, which event types a Task attempt and a closing execution
 * produce, and the JSON files `historyDir` keeps so history outlives a restart.
 *
 * The events come from two places, merged in order: the library's event log
 * (state entered/exited/failed, Map iterations; see `recordLibraryEvents`) and
 * the task handlers (scheduled/started/succeeded/failed/timed out; see
 * task-runner.ts). Each handler yields one macrotask before recording, so the
 * library's "state entered" event, dispatched synchronously before the handler
 * was called, is recorded first.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { epochSeconds } from '../aws-json';
import type { Attempt, DescribedExecution, Execution } from './execution-lifecycle';
import { admitEvent, admitPayload, type LimitedExecution } from './limits';

/** One event of GetExecutionHistory, in the API's shape (timestamps in epoch seconds). */
export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: number;
  type: string;
  [details: string]: unknown;
}

/** What history (and Step Functions) shows for a value: JSON text, `null` for undefined. */
export const toJson = (v: unknown): string => JSON.stringify(v === undefined ? null : v);

export function recordEvent(e: LimitedExecution, type: string, details?: Record<string, unknown>, at = Date.now()): void {
  // The history quota (limits.ts): past it the execution fails and only its closing event is recorded.
  if (!admitEvent(e, type)) return;
  const id = e.events.length + 1;
  // Library events carry their own time; keep the history monotonic anyway.
  const previous = e.events.at(-1)?.timestamp;
  if (previous !== undefined) at = Math.max(at, previous * 1000);
  // All `<Type>StateEntered` events carry `stateEnteredEventDetails` (same for Exited).
  const detailsKey = type.endsWith('StateEntered')
    ? 'stateEnteredEventDetails'
    : type.endsWith('StateExited')
      ? 'stateExitedEventDetails'
      : type.charAt(0).toLowerCase() + type.slice(1) + 'EventDetails';
  e.events.push({ id, previousEventId: id - 1, timestamp: epochSeconds(at), type, ...(details ? { [detailsKey]: details } : {}) });
}

/**
 * A Task attempt's progress: a direct Lambda ARN records `LambdaFunction<Phase>`
 * with the details alone; every other resource records `Task<Phase>` naming
 * the resource first.
 */
export function recordTaskEvent(
  exec: LimitedExecution,
  attempt: Pick<Attempt, 'lambdaDirect' | 'resourceType' | 'resource'>,
  phase: 'Started' | 'Succeeded' | 'Failed' | 'TimedOut',
  details?: Record<string, unknown>,
): void {
  if (attempt.lambdaDirect) recordEvent(exec, `LambdaFunction${phase}`, details);
  else recordEvent(exec, `Task${phase}`, { resourceType: attempt.resourceType, resource: attempt.resource, ...details });
}

/** The event that closes an execution, from its final status. */
export function recordExecutionClosed(exec: Execution): void {
  const errorDetails = { ...(exec.error !== undefined ? { error: exec.error } : {}), ...(exec.cause !== undefined ? { cause: exec.cause } : {}) };
  switch (exec.status) {
    case 'SUCCEEDED':
      recordEvent(exec, 'ExecutionSucceeded', { output: exec.output, outputDetails: { truncated: false } });
      break;
    case 'FAILED':
      recordEvent(exec, 'ExecutionFailed', errorDetails);
      break;
    case 'TIMED_OUT':
      recordEvent(exec, 'ExecutionTimedOut', errorDetails);
      break;
    case 'ABORTED':
      recordEvent(exec, 'ExecutionAborted', errorDetails);
      break;
  }
}

export interface LibraryEventHooks {
  /** A state was entered: its retry count starts again. */
  stateEntered(stateName: string): void;
  /** The library timed out a Task state (TimeoutSeconds). */
  taskTimedOut(stateName: string): void;
}

/**
 * Records the library's event log as history until the execution ends.
 * `stateTypes` maps state names to their type in the original definition
 * (substituted Wait/Pass states still read as Wait/Pass).
 */
export async function recordLibraryEvents(
  exec: Execution,
  stateTypes: Map<string, string>,
  events: AsyncGenerator<any>,
  hooks: LibraryEventHooks,
): Promise<void> {
  const typeOf = (name: string) => stateTypes.get(name) ?? 'Task';
  try {
    for await (const ev of events) {
      switch (ev.type) {
        case 'StateEntered': {
          const type = typeOf(ev.state.name);
          hooks.stateEntered(ev.state.name);
          exec.stateTransitions += 1;
          const input = toJson(ev.state.input);
          admitPayload(exec, input, `the input of state ${ev.state.name}`);
          recordEvent(exec, `${type}StateEntered`, { name: ev.state.name, input, inputDetails: { truncated: false } }, ev.timestamp);
          if (type === 'Map' || type === 'Parallel') recordEvent(exec, `${type}StateStarted`);
          break;
        }
        case 'StateExited': {
          const type = typeOf(ev.state.name);
          const output = toJson(ev.state.output);
          admitPayload(exec, output, `the output of state ${ev.state.name}`);
          if (type === 'Map' || type === 'Parallel') recordEvent(exec, `${type}StateSucceeded`);
          recordEvent(exec, `${type}StateExited`, { name: ev.state.name, output, outputDetails: { truncated: false } }, ev.timestamp);
          break;
        }
        case 'StateFailed': {
          const type = typeOf(ev.state.name);
          if (type === 'Map' || type === 'Parallel') recordEvent(exec, `${type}StateFailed`);
          if (type === 'Task' && ev.Error === 'States.Timeout') hooks.taskTimedOut(ev.state.name);
          break;
        }
        case 'StateRetried':
          exec.stateTransitions += 1; // a retry runs the state again: another transition
          break;
        case 'MapIterationStarted':
        case 'MapIterationSucceeded':
        case 'MapIterationFailed':
          recordEvent(exec, ev.type, { name: ev.parentState.name, index: ev.index });
          break;
      }
    }
  } catch {
    /* the log ends with the execution; nothing to recover */
  }
}

/** GetExecutionHistory with `includeExecutionData: false`: details without input, output or parameters. */
export function stripData(e: HistoryEvent): HistoryEvent {
  const out: HistoryEvent = { ...e };
  for (const [k, v] of Object.entries(e)) {
    if (k.endsWith('EventDetails') && v && typeof v === 'object') {
      const { input: _i, output: _o, parameters: _p, ...rest } = v as Record<string, unknown>;
      out[k] = rest;
    }
  }
  return out;
}

/** Writes one execution to `<dir>/<machine>/<name>.json`, atomically. */
export function persistExecution(dir: string, exec: Pick<Execution, 'machineName' | 'name' | 'events'>, execution: DescribedExecution): void {
  const folder = join(dir, exec.machineName);
  mkdirSync(folder, { recursive: true });
  const file = join(folder, `${exec.name}.json`);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ execution, events: exec.events }));
  renameSync(tmp, file);
}

/** Reads what `historyDir` holds: one JSON file per execution. */
export function readHistoryDir(dir: string): Array<{ execution: DescribedExecution; events: HistoryEvent[] }> {
  const out: Array<{ execution: DescribedExecution; events: HistoryEvent[] }> = [];
  let machines: string[];
  try {
    machines = readdirSync(dir);
  } catch {
    return out;
  }
  for (const m of machines) {
    let files: string[];
    try {
      files = readdirSync(join(dir, m)).filter((f) => f.endsWith('.json'));
    } catch {
      continue;
    }
    for (const f of files) {
      try {
        out.push(JSON.parse(readFileSync(join(dir, m, f), 'utf8')));
      } catch {
        /* a torn file from a crash is skipped, not fatal */
      }
    }
  }
  return out;
}
