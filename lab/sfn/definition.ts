/**
 * Turns a synthesized state machine definition into the copy the library runs.
 * The definition shown to operators (DescribeStateMachine) is never changed;
 * only this runtime copy differs, and only where aws-local-stepfunctions 3.0.0
 * differs from Step Functions:
 *
 * - Task states without `TimeoutSeconds` get the longest timer Node allows:
 *   the library defaults to 60 s, Step Functions to 99999999 s (no timeout).
 * - `$$.State.Name` in payload templates becomes the literal state name: the
 *   library's context object has no per-state fields.
 * - Every duration follows the lab's one time scale (lab/clock.ts): Wait
 *   states and Retry intervals are pauses (`clock.real`), Task
 *   `TimeoutSeconds` and the execution's `TimeoutSeconds` are limits
 *   (`clock.workLimit`, as is `HeartbeatSeconds` where the token waits,
 *   task-tokens.ts). A Wait's fixed `Seconds` goes through the library's
 *   `waitTimeOverrides`; `SecondsPath`, `Timestamp` and `TimestampPath`
 *   depend on the input, which the override cannot see, so the state runs as
 *   a lab task that computes the scaled pause (history still shows a Wait
 *   state). `TimeoutSecondsPath` is evaluated by the library unscaled (no
 *   synthesized machine uses it).
 * - An inline Map's ItemProcessor is marked so that at most 40 of its
 *   iterations run at once, as on AWS (map-concurrency.ts).
 * - A Pass state whose `Result` is falsy (0, false, "", null) outputs its input
 *   in the library; it runs as a lab task returning the `Result`.
 */
import type { LabClock } from '../clock';
import { markInlineMap } from './map-concurrency';

/** Largest setTimeout delay Node accepts (2^31-1 ms), in whole seconds. */
export const MAX_TIMER_SECONDS = 2_147_483;
export const LAB_WAIT_RESOURCE = 'arn:aws:states:::lab:wait';
export const LAB_PASS_RESOURCE = 'arn:aws:states:::lab:pass';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type StateDef = Record<string, any>;
export interface StatesScope {
  StartAt: string;
  States: Record<string, StateDef>;
  [k: string]: unknown;
}

export interface PreparedDefinition {
  runtime: StatesScope;
  /** Every state name (in any scope) → its type in the original definition. */
  stateTypes: Map<string, string>;
  /** Task states of the original definition (and lab-substituted ones), by name. */
  tasks: Map<string, StateDef>;
  /** Original Wait/Pass states that run as lab tasks. */
  substituted: Map<string, StateDef>;
  /** For the library's `waitTimeOverrides`, in milliseconds. */
  waitOverridesMs: Record<string, number>;
}

export interface PrepareOptions {
  clock: LabClock;
}

const clone = <T>(v: T): T => structuredClone(v);

/** Replaces `"key.$": "$$.State.Name"` with `"key": "<name>"`, recursively. */
function staticStateName(template: unknown, name: string): unknown {
  if (Array.isArray(template)) return template.map((t) => staticStateName(t, name));
  if (!template || typeof template !== 'object') return template;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(template as Record<string, unknown>)) {
    if (k.endsWith('.$') && v === '$$.State.Name') out[k.slice(0, -2)] = name;
    else out[k] = staticStateName(v, name);
  }
  return out;
}

/** Retry intervals are pauses (backoff kept). */
function scaleRetry(state: StateDef, clock: LabClock): void {
  if (clock.scale === 1 || !Array.isArray(state.Retry)) return;
  for (const r of state.Retry as Array<Record<string, unknown>>) {
    r.IntervalSeconds = clock.real(Number(r.IntervalSeconds ?? 1) * 1000) / 1000;
    if (typeof r.MaxDelaySeconds === 'number') r.MaxDelaySeconds = clock.real(r.MaxDelaySeconds * 1000) / 1000;
  }
}

/** A Task's or execution's TimeoutSeconds, scaled: they bound real-speed work (the clock's work floor). */
const limitSeconds = (clock: LabClock, seconds: number): number => clock.workLimit(seconds * 1000) / 1000;

function carry(state: StateDef, keys: string[]): StateDef {
  const out: StateDef = {};
  for (const k of keys) if (k in state) out[k] = state[k];
  return out;
}

export function prepareDefinition(definition: Record<string, unknown>, options: PrepareOptions): PreparedDefinition {
  const prepared: PreparedDefinition = {
    runtime: clone(definition) as StatesScope,
    stateTypes: new Map(),
    tasks: new Map(),
    substituted: new Map(),
    waitOverridesMs: {},
  };
  const top = (definition as { TimeoutSeconds?: unknown }).TimeoutSeconds;
  if (typeof top === 'number') prepared.runtime.TimeoutSeconds = limitSeconds(options.clock, top);
  walk(prepared.runtime, definition as StatesScope, options, prepared);
  return prepared;
}

function walk(scope: StatesScope, original: StatesScope, options: PrepareOptions, out: PreparedDefinition): void {
  for (const [name, state] of Object.entries(scope.States)) {
    const orig = original.States[name]!;
    out.stateTypes.set(name, String(orig.Type));
    for (const key of ['Parameters', 'ResultSelector', 'ItemSelector']) {
      if (state[key] !== undefined) state[key] = staticStateName(state[key], name);
    }
    switch (state.Type) {
      case 'Task':
        out.tasks.set(name, orig);
        if (state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined) {
          state.TimeoutSeconds = MAX_TIMER_SECONDS;
        } else if (typeof state.TimeoutSeconds === 'number') {
          state.TimeoutSeconds = limitSeconds(options.clock, state.TimeoutSeconds);
        }
        scaleRetry(state, options.clock);
        break;
      case 'Parallel':
        scaleRetry(state, options.clock);
        (state.Branches as StatesScope[]).forEach((b, i) => walk(b, (orig.Branches as StatesScope[])[i]!, options, out));
        break;
      case 'Map': {
        scaleRetry(state, options.clock);
        const key = state.ItemProcessor ? 'ItemProcessor' : 'Iterator';
        if (state[key]) walk(state[key] as StatesScope, orig[key] as StatesScope, options, out);
        // at most 40 iterations at once (map-concurrency.ts)
        if (state[key] && state[key].ProcessorConfig?.Mode !== 'DISTRIBUTED') markInlineMap(state[key] as object);
        break;
      }
      case 'Wait': {
        if (options.clock.scale === 1) break;
        if (typeof state.Seconds === 'number') {
          out.waitOverridesMs[name] = options.clock.real(state.Seconds * 1000);
          break;
        }
        scope.States[name] = {
          Type: 'Task',
          Resource: LAB_WAIT_RESOURCE,
          TimeoutSeconds: MAX_TIMER_SECONDS,
          ...carry(state, ['InputPath', 'OutputPath', 'Next', 'End', 'Comment']),
        };
        out.substituted.set(name, orig);
        out.tasks.set(name, scope.States[name]!);
        break;
      }
      case 'Pass':
        if ('Result' in state && !state.Result) {
          scope.States[name] = {
            Type: 'Task',
            Resource: LAB_PASS_RESOURCE,
            TimeoutSeconds: MAX_TIMER_SECONDS,
            ...carry(state, ['InputPath', 'ResultPath', 'OutputPath', 'Next', 'End', 'Comment']),
          };
          out.substituted.set(name, orig);
          out.tasks.set(name, scope.States[name]!);
        }
        break;
    }
  }
}

/**
 * Evaluates a Reference Path (`$`, `$.a.b`, `$.a[0]`, `$['a b']`), the only
 * kind ASL allows in `SecondsPath` / `TimestampPath`.
 */
export function referencePath(path: string, input: unknown): unknown {
  if (!path.startsWith('$')) throw new Error(`not a reference path: ${path}`);
  const tokens = path.slice(1).match(/\.[^.[\]]+|\[\d+\]|\['[^']*'\]|\["[^"]*"\]/g) ?? [];
  if (tokens.join('') !== path.slice(1)) throw new Error(`unsupported reference path: ${path}`);
  let cur: unknown = input;
  for (const t of tokens) {
    const key = t.startsWith('.') ? t.slice(1) : t.startsWith('[') && /^\[\d+\]$/.test(t) ? Number(t.slice(1, -1)) : t.slice(2, -2);
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[key];
  }
  return cur;
}

/** Milliseconds a (possibly substituted) Wait state pauses for this input. */
export function waitMillis(wait: StateDef, input: unknown, scale: number, now = Date.now()): number {
  let ms: number;
  if (typeof wait.Seconds === 'number') ms = wait.Seconds * 1000;
  else if (typeof wait.SecondsPath === 'string') {
    const s = referencePath(wait.SecondsPath, input);
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 0) {
      throw new Error(`SecondsPath ${wait.SecondsPath} must select a non-negative integer, got ${JSON.stringify(s)}`);
    }
    ms = s * 1000;
  } else {
    const ts = typeof wait.Timestamp === 'string' ? wait.Timestamp : referencePath(String(wait.TimestampPath), input);
    const at = typeof ts === 'string' ? Date.parse(ts) : NaN;
    if (Number.isNaN(at)) throw new Error(`Wait timestamp ${JSON.stringify(ts)} is not an RFC3339 timestamp`);
    ms = at - now;
  }
  return Math.max(0, ms * scale);
}
