/**
 * The best possible rollout time (issue #13, item 1): waves run one after the
 * other, each in ⌈hosts / concurrency⌉ rounds of one host's time, and the
 * fleet's bake follows every wave that ran (FleetRollout: EvaluateWave →
 * Bake → Advance, the last wave included). Waves with no host are dropped, as
 * the rollout drops them.
 */
export interface IdealInput {
  /** Hosts in each wave, in order. */
  waveSizes: number[];
  /** The fleet's concurrency: hosts upgraded at once within a wave. */
  concurrency: number;
  /** One host's time: the sum of its steps' durations. */
  hostMs: number;
  /** The fleet's bake time after each wave. */
  bakeMs: number;
}

export class BenchInputError extends Error {
  override name = 'BenchInputError';
}

function check(what: string, v: number, min: number, integer: boolean): void {
  if (!Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    throw new BenchInputError(`${what} must be ${integer ? 'a whole number' : 'a number'} of at least ${min}, not ${String(v)}`);
  }
}

/** Rounds of each wave: ⌈hosts / concurrency⌉, empty waves left out. */
export function waveRounds(waveSizes: number[], concurrency: number): number[] {
  check('concurrency', concurrency, 1, true);
  waveSizes.forEach((n, i) => check(`the size of wave ${i + 1}`, n, 0, true));
  return waveSizes.filter((n) => n > 0).map((n) => Math.ceil(n / concurrency));
}

/** Σ over waves ⌈hosts/concurrency⌉ × host time + bake, in milliseconds. */
export function idealCriticalPathMs(input: IdealInput): number {
  check('the host time (ms)', input.hostMs, 0, false);
  check('the bake time (ms)', input.bakeMs, 0, false);
  const rounds = waveRounds(input.waveSizes, input.concurrency);
  return rounds.reduce((sum, r) => sum + r * input.hostMs + input.bakeMs, 0);
}
