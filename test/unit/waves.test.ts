import { describe, expect, it } from 'vitest';
import { DEFAULT_WAVES, planWaves, WavePlanError, type PlanHost } from '../../core/waves';

const fleet = (staging: number, production: number): PlanHost[] => [
  ...Array.from({ length: staging }, (_, i) => ({ id: `stg-${i}`, tier: 'staging' as const })),
  ...Array.from({ length: production }, (_, i) => ({ id: `prod-${i}`, tier: 'production' as const })),
];

describe('planWaves', () => {
  it('puts staging first and every host in exactly one wave', () => {
    const waves = planWaves('acme', fleet(4, 16));
    expect(waves.map((w) => [w.name, w.tier, w.hostIds.length])).toEqual([
      ['staging', 'staging', 4],
      ['canary', 'production', 1],
      ['production-1', 'production', 8],
      ['production-2', 'production', 7],
    ]);
    const all = waves.flatMap((w) => w.hostIds);
    expect(new Set(all).size).toBe(20);
    expect(all).toHaveLength(20);
  });

  it('is deterministic and independent of input order', () => {
    const hosts = fleet(3, 10);
    expect(planWaves('acme', [...hosts].reverse())).toEqual(planWaves('acme', hosts));
  });

  it('derives thresholds from percentages of the wave', () => {
    const waves = planWaves('acme', fleet(0, 41));
    expect(waves.find((w) => w.name === 'production-1')).toMatchObject({ maxFailures: 2 }); // 10% of 21
  });

  it('keeps pinned hosts in their wave', () => {
    const hosts = fleet(2, 6).map((h) => (h.id === 'prod-5' ? { ...h, wave: 1 } : h));
    const canary = planWaves('acme', hosts).find((w) => w.name === 'canary')!;
    expect(canary.hostIds).toEqual(['prod-5']);
  });

  it('refuses a tier without a wave and a pin to a wave of another tier', () => {
    expect(() => planWaves('acme', fleet(1, 1), [DEFAULT_WAVES[0]!])).toThrow(WavePlanError);
    expect(() => planWaves('acme', [{ id: 'a', tier: 'staging', wave: 1 }])).toThrow(/not a staging wave/);
  });

  it('plans 10,000 hosts into waves of the right sizes', () => {
    const waves = planWaves('big', fleet(500, 9500));
    expect(waves.flatMap((w) => w.hostIds)).toHaveLength(10_000);
    expect(waves.map((w) => w.hostIds.length)).toEqual([500, 1, 4750, 4749]);
  });
});
