import { describe, expect, it } from 'vitest';
import { BenchInputError, idealCriticalPathMs, waveRounds } from '../../../bench/ideal';
import { planWaves } from '../../../core/waves';

describe('ideal critical path', () => {
  it('sums ⌈hosts/concurrency⌉ rounds of the host time per wave, plus a bake after each wave', () => {
    // waves of 1, 1, 9 and 9 hosts at concurrency 5: 1 + 1 + 2 + 2 rounds
    expect(idealCriticalPathMs({ waveSizes: [1, 1, 9, 9], concurrency: 5, hostMs: 14_000, bakeMs: 0 })).toBe(6 * 14_000);
    expect(idealCriticalPathMs({ waveSizes: [1, 1, 9, 9], concurrency: 5, hostMs: 14_000, bakeMs: 60_000 })).toBe(6 * 14_000 + 4 * 60_000);
  });

  it('counts a full round for a partly filled one and a single round for a wave at the concurrency', () => {
    expect(waveRounds([10, 11, 1], 10)).toEqual([1, 2, 1]);
  });

  it('drops empty waves, without their bake, as the rollout drops them', () => {
    expect(idealCriticalPathMs({ waveSizes: [0, 3, 0], concurrency: 2, hostMs: 1000, bakeMs: 500 })).toBe(2 * 1000 + 500);
  });

  it('matches the default waves of a 20-host fleet at concurrency 10', () => {
    const hosts = Array.from({ length: 20 }, (_, i) => ({ id: `h${i}`, tier: i === 0 ? ('staging' as const) : ('production' as const) }));
    const sizes = planWaves('f', hosts).map((w) => w.hostIds.length);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(20);
    expect(idealCriticalPathMs({ waveSizes: sizes, concurrency: 10, hostMs: 1, bakeMs: 0 })).toBe(waveRounds(sizes, 10).reduce((a, b) => a + b, 0));
  });

  it('refuses a concurrency below one or a fractional wave size, saying which', () => {
    expect(() => waveRounds([1], 0)).toThrow(new BenchInputError('concurrency must be a whole number of at least 1, not 0'));
    expect(() => waveRounds([1, 2.5], 2)).toThrow(/the size of wave 2 must be a whole number/);
    expect(() => idealCriticalPathMs({ waveSizes: [1], concurrency: 1, hostMs: -1, bakeMs: 0 })).toThrow(/host time/);
  });
});
