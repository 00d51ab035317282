import { describe, expect, it } from 'vitest';
import { writeWindowOf, writeWindowSentence } from '../../../core/host-run/write-window';

const T0 = 1_796_300_000_000;
const backup = (mode: 'embedded' | 'external', servicesStopped: boolean) => ({
  step: 'backup',
  result: { step: 'backup', ok: true, mode, servicesStopped, snapshotAt: T0, finishedAt: T0 + 4_000 },
});
const restart = (startedAt: number) => ({ step: 'restart', result: { step: 'restart', ok: true, startedAt } });

describe('a run\'s write window', () => {
  it('embedded, services stopped by the backup: the gap to the restart, and no write at risk', () => {
    const w = writeWindowOf([backup('embedded', true), restart(T0 + 6_540)]);
    expect(w).toEqual({
      mode: 'embedded',
      servicesStopped: true,
      snapshotAt: T0,
      backupFinishedAt: T0 + 4_000,
      servicesStartedAt: T0 + 6_540,
      seconds: 2.5,
      writesAtRiskSeconds: 0,
    });
    expect(writeWindowSentence(w!, true)).toBe(
      'write window: the services were stopped from the backup until the restart 2.5 s later, writes at risk for 0 s: no write was lost',
    );
  });

  it('external: writes are at risk from pg_dump\'s snapshot to the restart, and a restore says it lost them', () => {
    const w = writeWindowOf([backup('external', false), restart(T0 + 9_000)])!;
    expect(w).toMatchObject({ mode: 'external', servicesStopped: false, seconds: 5, writesAtRiskSeconds: 9 });
    expect(writeWindowSentence(w, true)).toMatch(/writes at risk for 9 s \(from pg_dump's snapshot\): writes accepted then are not in the backup and were lost by the restore$/);
    expect(writeWindowSentence(w, false)).toMatch(/are not in the backup$/);
  });

  it('a restart failure still ends the window at the time compose up began', () => {
    const failed = { step: 'restart', result: { step: 'restart', ok: false, error: 'restart-failed', message: 'x', startedAt: T0 + 5_000 } };
    expect(writeWindowOf([backup('embedded', true), failed])).toMatchObject({ seconds: 1, servicesStartedAt: T0 + 5_000 });
  });

  it('services the run never started again are said to be stopped, not a number', () => {
    const w = writeWindowOf([backup('embedded', true)])!;
    expect(w).toMatchObject({ seconds: null, servicesStartedAt: null, writesAtRiskSeconds: 0 });
    expect(writeWindowSentence(w, false)).toContain('not started again by this run');
  });

  it('no window for a run without a backup result that carries the times (a rollback, a no-op, an older backup line)', () => {
    expect(writeWindowOf([restart(T0)])).toBeNull();
    expect(writeWindowOf([{ step: 'backup', result: { step: 'backup', ok: true, mode: 'embedded' } }])).toBeNull();
    expect(writeWindowOf([{ step: 'backup', result: null }])).toBeNull();
  });

  it('a host clock that goes backwards gives 0 s, never a negative window', () => {
    expect(writeWindowOf([backup('external', false), restart(T0 - 1_000)])).toMatchObject({ seconds: 0, writesAtRiskSeconds: 0 });
  });
});
