/**
 * Inline Map runs at most 40 iterations at once, whatever `MaxConcurrency`
 * (or `MaxConcurrencyPath`) says: "In this mode, the Map state supports up
 * to 40 concurrent iterations"
 * (https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html).
 *
 * aws-local-stepfunctions 3.0.0 applies `MaxConcurrency` itself (40 when it
 * is 0 or absent) but starts more than 40 iterations when it, or the value
 * at `MaxConcurrencyPath`, is higher. The library runs each iteration as a
 * nested `StateMachine` over the Map's `ItemProcessor` object; the lab marks
 * those objects (`markInlineMap`, from definition.ts) and holds an
 * iteration back, before its first event, until fewer than 40 iterations of
 * that Map state run in that execution.
 */
import './polyfill';
import { StateMachine } from 'aws-local-stepfunctions';

/** Concurrent iterations of one inline Map state. */
export const INLINE_MAP_MAX_CONCURRENCY = 40;

interface Gate {
  running: number;
  waiting: Array<() => void>;
}

/** ItemProcessor scope → per execution (its run overrides object) → gate. */
const gates = new WeakMap<object, WeakMap<object, Gate>>();
const inlineMaps = new WeakSet<object>();

/** Marks a Map state's ItemProcessor (runtime copy) as an inline Map's: its iterations get the 40-at-once gate. */
export function markInlineMap(itemProcessor: object): void {
  inlineMaps.add(itemProcessor);
}

function gateFor(definition: object, runOptions: { overrides?: object } | undefined): Gate | undefined {
  const execution = runOptions?.overrides;
  if (!inlineMaps.has(definition) || !execution) return undefined;
  let perExecution = gates.get(definition);
  if (!perExecution) gates.set(definition, (perExecution = new WeakMap()));
  let gate = perExecution.get(execution);
  if (!gate) perExecution.set(execution, (gate = { running: 0, waiting: [] }));
  return gate;
}

type Execute = (this: { definition: object }, input: unknown, options: { runOptions?: { overrides?: object }; abortSignal: AbortSignal }, cleanup: unknown) => Promise<unknown>;

const proto = StateMachine.prototype as unknown as { execute: Execute; __labMapGate?: true };
if (!proto.__labMapGate) {
  const original = proto.execute;
  proto.execute = async function gatedExecute(input, options, cleanup) {
    const gate = gateFor(this.definition, options.runOptions);
    if (!gate) return original.call(this, input, options, cleanup);
    if (gate.running < INLINE_MAP_MAX_CONCURRENCY) gate.running += 1;
    else {
      // a finishing iteration hands its slot over (running stays the same)
      await new Promise<void>((resolve, reject) => {
        const go = () => resolve();
        gate.waiting.push(go);
        options.abortSignal.addEventListener(
          'abort',
          () => {
            gate.waiting = gate.waiting.filter((w) => w !== go);
            reject(new Error('the execution was aborted while this Map iteration waited for a slot'));
          },
          { once: true },
        );
      });
    }
    try {
      return await original.call(this, input, options, cleanup);
    } finally {
      const next = gate.waiting.shift();
      if (next) next();
      else gate.running -= 1;
    }
  };
  proto.__labMapGate = true;
}
