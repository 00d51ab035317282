/**
 * The lab's one time scale.
 *
 * Every duration the product meets on AWS (Wait states, Task and execution
 * timeouts, heartbeats, Lambda timeouts, SSM delivery and execution timeouts,
 * presigned URL and STS session expiry, lease TTLs, a host's simulated work)
 * lasts `scale` times as long in the lab, all alike, so that a test of "six
 * hours" keeps every limit in force: a one-hour session still ends before a
 * six-hour transfer does, because both are compressed by the same factor.
 *
 * Durations are scaled where the lab enforces them (the lab's Step Functions,
 * SSM, S3, STS and hosts); the clock itself is never faked, so timestamps the
 * product writes (registry rows, SigV4 dates) stay real.
 */

export interface LabClock {
  /** Real seconds per simulated second, 0 < scale ≤ 1 (1/360: six simulated hours in one real minute). */
  readonly scale: number;
  /** Real milliseconds that a simulated duration lasts in the lab. */
  real(simulatedMs: number): number;
  /** Simulated milliseconds that a real duration stands for. */
  simulated(realMs: number): number;
  /** Resolve after `simulatedMs` of simulated time. */
  sleep(simulatedMs: number): Promise<void>;
}

export function labClock(scale: number): LabClock {
  if (!Number.isFinite(scale) || scale <= 0 || scale > 1) {
    throw new RangeError(`the lab time scale must be a number above 0 and at most 1 (real seconds per simulated second), not ${scale}`);
  }
  return {
    scale,
    real: (ms) => ms * scale,
    simulated: (ms) => ms / scale,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms * scale))),
  };
}
