/** The rollout Lambda's event (core/rollout-event.ts RolloutTaskEvent): the shapes the rollout state machines send. */
import { describe, expect, it } from 'vitest';
import { parseInput } from '../../core/errors';
import type { RolloutContext } from '../../core/rollout';
import { RolloutTaskEvent } from '../../core/rollout-event';

const rollout: RolloutContext = {
  rolloutId: 'acme-1-5-0',
  fleetId: 'acme',
  version: '1.5.0',
  attempt: 1,
  allowDestructive: false,
  concurrency: 5,
  bakeSeconds: 0,
  approvalBeforeProduction: false,
  failurePolicy: 'halt',
  unreachableCountsAsFailure: true,
  waveCount: 2,
  firstProductionWave: 1,
  resumed: false,
  requestedBy: 'cli:alice',
};
const executionArn = 'arn:aws:states:us-east-1:111122223333:execution:FleetRollout:acme-1-5-0--a1';
const parse = (event: unknown) => parseInput(RolloutTaskEvent, event, 'rollout event');

describe('the rollout task event', () => {
  it('accepts what FleetRollout, RolloutBatch and RolloutRollback send for each action', () => {
    const events = [
      { action: 'plan', request: { fleetId: 'acme', version: '1.5.0', AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: 'arn:parent' }, executionArn },
      { action: 'next-batch', rollout, wave: 0 },
      { action: 'claim-host', rollout, wave: 0, hostId: 'h1' },
      { action: 'record-host', rollout, wave: 0, hostId: 'h1', mode: 'upgrade', output: { outcome: 'succeeded' } },
      { action: 'record-host', rollout, wave: 0, hostId: 'h1', mode: 'rollback', error: { Error: 'States.TaskFailed', Cause: '{}' } },
      { action: 'evaluate-wave', rollout, wave: 1 },
      { action: 'await-approval', rollout, taskToken: 'AQCEAAAAKgAAAA' },
      { action: 'finish', rollout, status: 'halted', wave: { ok: false }, error: {} },
      { action: 'plan-rollback', request: { rolloutId: 'acme-1-5-0', wave: 1 }, executionArn },
      { action: 'next-rollback-batch', rollout, request: { rolloutId: 'acme-1-5-0', wave: 1 } },
    ];

    expect(events.map((e) => parse(e).action)).toEqual(events.map((e) => e.action));
  });

  it('reads the empty placeholders FleetRollout starts with as no wave and no error', () => {
    const e = parse({ action: 'finish', rollout, status: 'succeeded', wave: {}, error: {} });

    expect(e).toMatchObject({ action: 'finish', wave: null, error: null });
  });

  it('defaults record-host to an upgrade', () => {
    expect(parse({ action: 'record-host', rollout, wave: 0, hostId: 'h1' })).toMatchObject({ mode: 'upgrade' });
  });

  it.each(['plan', 'plan-rollback'])('refuses %s without the execution that owns the attempt', (action) => {
    const request = action === 'plan' ? { fleetId: 'acme', version: '1.5.0' } : { rolloutId: 'acme-1-5-0' };

    expect(() => parse({ action, request })).toThrow(/invalid rollout event: executionArn: /);
  });

  it('refuses an unknown action, naming the ones it knows', () => {
    expect(() => parse({ action: 'launch', rollout })).toThrow(/action: .*'plan' \| 'next-batch'/);
  });

  it('refuses a finish status the rollout cannot end in', () => {
    expect(() => parse({ action: 'finish', rollout, status: 'running' })).toThrow(/status/);
  });
});
