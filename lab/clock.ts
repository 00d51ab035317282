/**
 * The lab's one time scale.
 *
 * Every duration the product meets on AWS (Wait states, Task and execution
 * timeouts, heartbeats, Retry intervals, Lambda timeouts, SSM delivery and
 * execution timeouts, presigned URL and STS session expiry, token lifetimes)
 * lasts `scale` times as long in the lab, all alike, so that a test of "six
 * hours" keeps every limit in force: a one-hour session still ends before a
 * six-hour transfer does, because both are compressed by the same factor.
 *
 * Two kinds of duration, one scale:
 * - a pause (a Wait state, a Retry interval, a host's simulated work) lasts
 *   `real(ms)`: exactly `ms × scale`;
 * - a limit (a timeout, an expiry) lasts `limit(ms)`: `ms × scale`, but never
 *   less than `minRealLimitMs` (default MIN_REAL_LIMIT_MS) unless the limit
 *   itself is shorter than that. What the lab cannot compress (starting a
 *   worker, a PostgreSQL round trip, bash starting a shim) is real time; a
 *   60-second Lambda timeout at 1/360 would otherwise be 167 ms, shorter than
 *   the lab's own overhead, and the lab would be harsher than AWS by accident.
 *   The floor keeps limits in order (a longer limit is never shorter);
 * - a limit on work the lab does at real speed (an SSM document's execution
 *   timeout over real bash, a Lambda function's timeout over real code, a
 *   Task or execution TimeoutSeconds over both, a Task's HeartbeatSeconds
 *   over the Lambda that sends the heartbeats) lasts `workLimit(ms)`: the
 *   same, with the higher floor `minRealWorkLimitMs` (default
 *   MIN_REAL_WORK_LIMIT_MS). A step that takes 300 ms on an idle machine
 *   takes seconds on two loaded cores; its work is not compressed, so its
 *   limit must not be compressed below what the work really needs, or the
 *   lab fails steps AWS would not (a 300 s preflight at 1/50 is 6 s).
 *   Limits that only bound waiting (SSM's delivery timeout for an offline
 *   agent, expiries) keep the lower floor.
 *
 * Durations are scaled where the lab enforces them (the lab's Step Functions,
 * SSM and Lambda; Cognito's token lifetimes not yet, see lab/lab.ts; the
 * hosts' scripts not yet); the clock itself is never faked,
 * so timestamps the product writes (registry rows, SigV4 dates) stay real.
 */

/** Shortest real duration a scaled limit is given (see above), in milliseconds. */
export const MIN_REAL_LIMIT_MS = 10_000;
/** Shortest real duration a scaled limit on real-speed work is given (see above), in milliseconds. */
export const MIN_REAL_WORK_LIMIT_MS = 60_000;

export interface LabClock {
  /** Real seconds per simulated second, 0 < scale ≤ 1 (1/360: six simulated hours in one real minute). */
  readonly scale: number;
  /** The floor of `limit`, in real milliseconds. */
  readonly minRealLimitMs: number;
  /** Real milliseconds that a simulated pause lasts in the lab. */
  real(simulatedMs: number): number;
  /** Real milliseconds that a simulated limit (timeout, expiry) lasts in the lab: scaled, with the floor. */
  limit(simulatedMs: number): number;
  /** The floor of `workLimit`, in real milliseconds. */
  readonly minRealWorkLimitMs: number;
  /** Real milliseconds that a limit on real-speed work (script, function, task) lasts: scaled, with the work floor. */
  workLimit(simulatedMs: number): number;
  /** Simulated milliseconds that a real duration stands for. */
  simulated(realMs: number): number;
  /** Resolve after `simulatedMs` of simulated time. */
  sleep(simulatedMs: number): Promise<void>;
}

export interface LabClockOptions {
  /** Floor of a scaled limit in real milliseconds; default MIN_REAL_LIMIT_MS. */
  minRealLimitMs?: number;
  /** Floor of a scaled limit on real-speed work; default MIN_REAL_WORK_LIMIT_MS, or minRealLimitMs when only that is given. */
  minRealWorkLimitMs?: number;
}

export function labClock(scale: number, options: LabClockOptions = {}): LabClock {
  if (!Number.isFinite(scale) || scale <= 0 || scale > 1) {
    throw new RangeError(`the lab time scale must be a number above 0 and at most 1 (real seconds per simulated second), not ${scale}`);
  }
  const floor = options.minRealLimitMs ?? MIN_REAL_LIMIT_MS;
  if (!Number.isFinite(floor) || floor < 0) {
    throw new RangeError(`the lab's shortest real limit must be a number of milliseconds of at least 0, not ${floor}`);
  }
  const workFloor = options.minRealWorkLimitMs ?? (options.minRealLimitMs !== undefined ? floor : Math.max(floor, MIN_REAL_WORK_LIMIT_MS));
  if (!Number.isFinite(workFloor) || workFloor < floor) {
    throw new RangeError(`the lab's shortest real limit on work must be a number of milliseconds of at least the shortest limit (${floor}), not ${workFloor}`);
  }
  const floored = (ms: number, min: number) => (ms <= 0 ? 0 : Math.min(ms, Math.max(ms * scale, min)));
  return {
    scale,
    minRealLimitMs: floor,
    minRealWorkLimitMs: workFloor,
    real: (ms) => Math.max(0, ms * scale),
    limit: (ms) => floored(ms, floor),
    workLimit: (ms) => floored(ms, workFloor),
    simulated: (ms) => ms / scale,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms * scale))),
  };
}

/** Unscaled time: what a lab component uses when it is given no clock (its own tests). */
export const REAL_TIME: LabClock = labClock(1);
