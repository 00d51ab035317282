/**
 * Worst-case durations read from a synthesized state machine definition, for
 * the test that timeouts nest (test/infra/timeouts.test.ts). Everything is
 * derived from the template: TimeoutSeconds, Retry (MaxAttempts,
 * IntervalSeconds, BackoffRate, MaxDelaySeconds) and the Lambda functions'
 * own Timeout; nothing is taken from the code that chose them.
 *
 * One Task's worst case is its TimeoutSeconds plus, per retrier, MaxAttempts
 * more attempts each followed by its backoff delay. A retried attempt failed
 * with an error a retrier matches, which is bounded by less than the whole
 * TimeoutSeconds:
 * - a Lambda task's retried errors are the invocation's own (Lambda.* service
 *   errors, throttling, the handler's TransientError): one invocation lasts at
 *   most the function's Timeout (Lambda quota: at most 900 s,
 *   https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html);
 * - a child execution's retried errors are failures to start it
 *   (StepFunctions.ExecutionLimitExceeded, ...), which take no run time.
 * Retry defaults per the Amazon States Language: MaxAttempts 3,
 * IntervalSeconds 1, BackoffRate 2.0
 * (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
 */
import type { AslDefinition, AslState, Synthesized } from './synth';

/** The template's Lambda functions by logical id: their Timeout (seconds; 3 is CloudFormation's default). */
export function functionTimeouts(s: Synthesized): Map<string, number> {
  const out = new Map<string, number>();
  for (const [id, r] of Object.entries(s.json.Resources)) {
    if (r.Type === 'AWS::Lambda::Function') out.set(id, typeof r.Properties.Timeout === 'number' ? r.Properties.Timeout : 3);
  }
  return out;
}

/** The Lambda function a task invokes (placeholder ARNs of test/support/synth.ts end in the logical id). */
export function invokedFunction(st: AslState): string | undefined {
  const params = st.Parameters as Record<string, unknown> | undefined;
  const name = params?.FunctionName;
  if (typeof name !== 'string') return undefined;
  return name.slice(name.lastIndexOf(':') + 1);
}

export function taskWorstSeconds(name: string, st: AslState, fnTimeouts: Map<string, number>): number {
  if (typeof st.TimeoutSeconds !== 'number') throw new Error(`${name} has no TimeoutSeconds: its worst case is unbounded`);
  const timeout = st.TimeoutSeconds;
  const isChild = String(st.Resource).includes(':states:::states:startExecution');
  const fn = invokedFunction(st);
  const retriedAttempt = isChild ? 0 : Math.min(timeout, fn ? (fnTimeouts.get(fn) ?? 900) : timeout);
  let total = timeout;
  for (const r of st.Retry ?? []) {
    const rr = r as { MaxAttempts?: number; IntervalSeconds?: number; BackoffRate?: number; MaxDelaySeconds?: number };
    const attempts = rr.MaxAttempts ?? 3;
    let delay = rr.IntervalSeconds ?? 1;
    for (let i = 0; i < attempts; i++) {
      total += retriedAttempt + Math.min(delay, rr.MaxDelaySeconds ?? Number.POSITIVE_INFINITY);
      delay *= rr.BackoffRate ?? 2;
    }
  }
  return total;
}

export interface WorstPath {
  seconds: number;
  states: string[];
}

/**
 * The longest time from `from` (default StartAt) to the end of the execution,
 * following Next, Choices, Default and Catch. Pass, Choice, Succeed and Fail
 * take no time; a Wait state or a cycle makes the bound unknowable and throws.
 */
export function worstPath(def: AslDefinition, fnTimeouts: Map<string, number>, from = def.StartAt): WorstPath {
  const memo = new Map<string, WorstPath>();
  const visiting = new Set<string>();
  const visit = (name: string, trail: string[]): WorstPath => {
    const known = memo.get(name);
    if (known) return known;
    if (visiting.has(name)) throw new Error(`a cycle through ${[...trail.slice(trail.indexOf(name)), name].join(' → ')}: no upper bound on its duration`);
    const st = def.States[name];
    if (!st) throw new Error(`transition to missing state ${name}`);
    if (st.Type === 'Wait') throw new Error(`${name} is a Wait state: its duration is not bounded by a timeout`);
    visiting.add(name);
    const own = st.Type === 'Task' ? taskWorstSeconds(name, st, fnTimeouts) : 0;
    const nexts = [st.Next, st.Default, ...(st.Choices ?? []).map((c) => c.Next), ...(st.Catch ?? []).map((c) => c.Next)].filter(
      (n): n is string => typeof n === 'string',
    );
    let best: WorstPath = { seconds: 0, states: [] };
    for (const n of new Set(nexts)) {
      const p = visit(n, [...trail, name]);
      if (p.seconds > best.seconds || best.states.length === 0) best = p;
    }
    visiting.delete(name);
    const result = { seconds: own + best.seconds, states: [name, ...best.states] };
    memo.set(name, result);
    return result;
  };
  return visit(from, []);
}
