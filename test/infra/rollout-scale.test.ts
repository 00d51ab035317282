/**
 * Scale, in the synthesized FleetRollout / RolloutBatch loops: a 10,000-host
 * fleet's history is bounded by batches, never by hosts (the registry half:
 * test/integration/core/rollout-scale.test.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { BATCH_SIZE } from '../../core/rollout';
import { definitionOf, synthApp, type AslDefinition } from '../support/synth';

const HOSTS = 10_000;
const MAX_HISTORY = 25_000;
/** Events a state adds to the history (Task: entered, scheduled, started, succeeded, exited + submitted for .sync). */
const EVENTS: Record<string, number> = { Task: 6, Choice: 2, Pass: 2, Wait: 2, Succeed: 2, Fail: 2, Map: 4 };

let fleetRollout: AslDefinition;
let rolloutBatch: AslDefinition;

beforeAll(() => {
  const s = synthApp();
  fleetRollout = definitionOf(s, 'FleetRollout');
  rolloutBatch = definitionOf(s, 'RolloutBatch');
}, 180_000);

describe('a 10,000-host rollout', () => {
  it('bounds FleetRollout history by batches, not hosts', () => {
    // the batch loop: NextBatch → HasBatch → RunBatch → NextBatch
    expect(fleetRollout.States.NextBatch!.Next).toBe('HasBatch');
    expect((fleetRollout.States.HasBatch!.Choices ?? []).map((c) => c.Next)).toContain('RunBatch');
    expect(fleetRollout.States.RunBatch!.Next).toBe('NextBatch');
    expect(fleetRollout.States.RunBatch!.Resource).toMatch(/startExecution\.sync/);
    const perBatch = ['NextBatch', 'HasBatch', 'RunBatch'].reduce((n, s) => n + EVENTS[fleetRollout.States[s]!.Type]!, 0);
    const perWave = Object.values(fleetRollout.States).reduce((n, s) => n + (EVENTS[s.Type] ?? 2), 0); // every state once
    const waves = 4;
    const batches = Math.ceil(HOSTS / BATCH_SIZE) + waves;
    const worst = batches * perBatch + waves * perWave + 10;
    expect(worst).toBeLessThan(MAX_HISTORY / 4);
  });

  it('bounds each RolloutBatch history by the batch size', () => {
    const map = rolloutBatch.States[rolloutBatch.StartAt]!;
    expect(map.Type).toBe('Map');
    expect(map.MaxConcurrencyPath).toBe('$.rollout.concurrency');
    const processor = (map.ItemProcessor ?? map.Iterator) as AslDefinition;
    const perHost = Object.values(processor.States).reduce((n, s) => n + (EVENTS[s.Type] ?? 2), 0) + 2; // + iteration start/end
    expect(BATCH_SIZE * perHost + 20).toBeLessThan(MAX_HISTORY / 5);
    // each host's HostUpgrade is its own child execution
    expect(Object.values(processor.States).some((s) => String(s.Resource).includes('startExecution.sync'))).toBe(true);
  });
});
