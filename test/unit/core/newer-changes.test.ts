/**
 * The rule for restoring an older backup (core/host-run/newer-changes.ts):
 * which later runs a restore discards, and when it is refused.
 */
import { describe, expect, it } from 'vitest';
import { assertNothingNewer, changesDiscardedBy, type RestorePoint } from '../../../core/host-run/newer-changes';
import type { HostRun } from '../../../core/registry/store';

const T0 = Date.UTC(2026, 10, 1);
const point: RestorePoint = { runId: 'run-a', takenAt: T0 + 10, version: '1.4.0' };

function run(id: string, startedAt: number, over: Partial<HostRun> = {}): HostRun {
  return {
    id,
    hostId: 'h1',
    rolloutId: null,
    kind: 'upgrade',
    fromVersion: '1.5.0',
    targetVersion: '1.6.0',
    status: 'succeeded',
    outcome: 'succeeded',
    failedStep: null,
    commandId: null,
    outputUri: null,
    message: null,
    executionArn: null,
    leaseToken: 1,
    startedAt,
    finishedAt: startedAt + 5,
    ...over,
  };
}

describe('changesDiscardedBy', () => {
  it('lists a later successful upgrade but not the run that took the backup, nor an earlier one', () => {
    const runs = [run('later', T0 + 100), run('run-a', T0, { fromVersion: '1.4.0', targetVersion: '1.5.0' }), run('before', T0 - 100)];

    expect(changesDiscardedBy(point, runs).map((d) => d.runId)).toEqual(['later']);
  });

  it('ignores later runs that left the host as it was: noop, failed, restored, still running', () => {
    const runs = [
      run('noop', T0 + 100, { outcome: 'noop' }),
      run('failed', T0 + 200, { status: 'failed', outcome: 'unhealthy' }),
      run('restored', T0 + 300, { status: 'failed', outcome: 'restored' }),
      run('running', T0 + 400, { status: 'running', outcome: null }),
    ];

    expect(changesDiscardedBy(point, runs)).toEqual([]);
  });

  it('counts a later rollback to another version, not one back to the backup\'s own version', () => {
    const runs = [
      run('back-to-a', T0 + 100, { kind: 'rollback', fromVersion: '1.5.0', targetVersion: '1.4.0' }),
      run('to-other', T0 + 200, { kind: 'rollback', fromVersion: '1.6.0', targetVersion: '1.5.0' }),
    ];

    expect(changesDiscardedBy(point, runs)).toEqual([
      { runId: 'to-other', kind: 'rollback', from: '1.6.0', to: '1.5.0', finishedAt: new Date(T0 + 205).toISOString() },
    ]);
  });

  it('lists discarded runs oldest first', () => {
    const runs = [run('second', T0 + 200, { fromVersion: '1.6.0', targetVersion: '2.0.0' }), run('first', T0 + 100)];

    expect(changesDiscardedBy(point, runs).map((d) => d.runId)).toEqual(['first', 'second']);
  });
});

describe('assertNothingNewer', () => {
  const discarded = changesDiscardedBy(point, [run('later', T0 + 100)]);

  it('refuses with a sentence naming the run, its versions and when it finished', () => {
    expect(() => assertNothingNewer('h1', 'backup b-1 (1.4.0)', discarded, undefined)).toThrow(
      `restoring backup b-1 (1.4.0) on host h1 would discard a later change: run later (upgrade 1.5.0 → 1.6.0, finished ${new Date(T0 + 105).toISOString()}); pass force (--force) to restore anyway`,
    );
  });

  it('lets a forced restore through, and one with nothing newer', () => {
    expect(() => assertNothingNewer('h1', 'backup b-1', discarded, true)).not.toThrow();
    expect(() => assertNothingNewer('h1', 'backup b-1', [], undefined)).not.toThrow();
  });
});
