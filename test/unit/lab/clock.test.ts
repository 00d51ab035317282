import { describe, expect, it } from 'vitest';
import { labClock, MIN_REAL_LIMIT_MS, MIN_REAL_WORK_LIMIT_MS } from '../../../lab/clock';

describe('the lab clock', () => {
  it('compresses every duration by the one scale, both ways', () => {
    const clock = labClock(1 / 360);
    expect(clock.real(6 * 3600_000)).toBeCloseTo(60_000, 6);
    expect(clock.limit(6 * 3600_000)).toBeCloseTo(60_000, 6);
    expect(clock.simulated(60_000)).toBeCloseTo(6 * 3600_000, 3);
  });

  it('gives a scaled limit at least the floor, a limit shorter than the floor its own length, and keeps limits in order', () => {
    const clock = labClock(1 / 360);
    // a 60 s Lambda timeout would be 167 ms: it gets the floor
    expect(clock.limit(60_000)).toBe(MIN_REAL_LIMIT_MS);
    // a 2 s heartbeat is never stretched past its own length
    expect(clock.limit(2_000)).toBe(2_000);
    expect(clock.limit(0)).toBe(0);
    const limits = [1_000, 30_000, 600_000, 3_600_000, 7_200_000, 14_400_000].map((ms) => clock.limit(ms));
    for (let i = 1; i < limits.length; i++) expect(limits[i]!).toBeGreaterThanOrEqual(limits[i - 1]!);
    // a pause has no floor
    expect(clock.real(60_000)).toBeCloseTo(166.67, 1);
    expect(labClock(0.5, { minRealLimitMs: 100 }).limit(1_000)).toBe(500);
  });

  it('gives a limit on real-speed work (a script, a function, a task) the higher work floor, so load never fails work AWS would finish', () => {
    const clock = labClock(1 / 50);
    // a 300 s preflight at 1/50 would be 6 s of real bash: it gets the work floor
    expect(clock.workLimit(300_000)).toBe(MIN_REAL_WORK_LIMIT_MS);
    // SSM's delivery timeout for an offline agent is only waiting: the lower floor
    expect(clock.limit(300_000)).toBe(MIN_REAL_LIMIT_MS);
    // long limits are compressed alike, shorter ones keep their own length
    expect(clock.workLimit(6 * 3600_000)).toBeCloseTo(432_000, 6);
    expect(clock.workLimit(20_000)).toBe(20_000);
    // a lab given only the lower floor (a test of limits) uses it for work too
    expect(labClock(1 / 300, { minRealLimitMs: 2_000 }).workLimit(60_000)).toBe(2_000);
    expect(() => labClock(0.5, { minRealLimitMs: 5_000, minRealWorkLimitMs: 1_000 })).toThrow('not 1000');
  });

  it('refuses a scale that would stretch time or stop it, and a negative floor, naming the value', () => {
    for (const bad of [0, -1, 2, Number.NaN]) expect(() => labClock(bad)).toThrow(`not ${bad}`);
    expect(() => labClock(0.5, { minRealLimitMs: -1 })).toThrow('not -1');
  });
});
