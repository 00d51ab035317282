import { describe, expect, it } from 'vitest';
import { labClock } from '../../../lab/clock';

describe('the lab clock', () => {
  it('compresses every duration by the one scale, both ways', () => {
    const clock = labClock(1 / 360);
    expect(clock.real(6 * 3600_000)).toBeCloseTo(60_000, 6);
    expect(clock.simulated(60_000)).toBeCloseTo(6 * 3600_000, 3);
  });

  it('refuses a scale that would stretch time or stop it, naming the value', () => {
    for (const bad of [0, -1, 2, Number.NaN]) expect(() => labClock(bad)).toThrow(`not ${bad}`);
  });
});
