/**
 * A run's write window (issue #12 item 8): a write the app accepts after the
 * backup's copy of the data was taken is not in that backup, and a restore
 * throws it away. The host steps report the host's own clock (epoch ms):
 * backup `snapshotAt` (external: pg_dump's snapshot; embedded: the copy, the
 * services already stopped) and `finishedAt`, and restart `startedAt` (the
 * services serve again: the upgrade's restart, or StartAgain after a run that
 * ended before it). Both come from one clock, so their differences hold even
 * when that clock is off. Embedded backups leave the services stopped until
 * the restart, so no write is at risk; an external database keeps serving.
 */
import { z } from 'zod';
import { DatabaseMode } from '../models';

const EpochMs = z.number().int().positive();
const BackupTimes = z.looseObject({
  mode: DatabaseMode,
  servicesStopped: z.boolean(),
  snapshotAt: EpochMs,
  finishedAt: EpochMs,
});
const RestartTime = z.looseObject({ startedAt: EpochMs });

export interface WriteWindow {
  mode: DatabaseMode;
  /** The backup left the services stopped until the restart (embedded). */
  servicesStopped: boolean;
  /** Host clock, epoch ms: the data's snapshot, the backup's end, the services serving again (null: not yet, or never). */
  snapshotAt: number;
  backupFinishedAt: number;
  servicesStartedAt: number | null;
  /** Backup end → services started again, in seconds (null when they were not started by the run). */
  seconds: number | null;
  /** How long writes accepted by the app were missing from the backup: 0 with the services stopped. */
  writesAtRiskSeconds: number | null;
}

interface StepLike {
  step: string;
  result: Record<string, unknown> | null;
}

const secondsBetween = (from: number, to: number) => Math.max(0, Math.round((to - from) / 100) / 10);

/** The window of a run from its recorded steps; null for a run that took no backup (a rollback, a no-op). */
export function writeWindowOf(steps: readonly StepLike[]): WriteWindow | null {
  const backup = BackupTimes.safeParse(steps.find((s) => s.step === 'backup')?.result);
  if (!backup.success) return null;
  const b = backup.data;
  const restart = RestartTime.safeParse(steps.find((s) => s.step === 'restart')?.result);
  const startedAt = restart.success ? restart.data.startedAt : null;
  const stopped = b.mode === 'embedded' && b.servicesStopped;
  return {
    mode: b.mode,
    servicesStopped: stopped,
    snapshotAt: b.snapshotAt,
    backupFinishedAt: b.finishedAt,
    servicesStartedAt: startedAt,
    seconds: startedAt === null ? null : secondsBetween(b.finishedAt, startedAt),
    writesAtRiskSeconds: b.mode === 'embedded' ? 0 : startedAt === null ? null : secondsBetween(b.snapshotAt, startedAt),
  };
}

/** One clause for the operator: how long writes were at risk, and whether any was lost. */
export function writeWindowSentence(w: WriteWindow, restored: boolean): string {
  if (w.servicesStartedAt === null) {
    return w.servicesStopped
      ? 'write window: the services were stopped by the backup and not started again by this run (start them: docker compose up -d)'
      : `write window: the app kept serving after the backup; writes since its snapshot are not in it`;
  }
  if (w.mode === 'embedded') {
    return w.servicesStopped
      ? `write window: the services were stopped from the backup until the restart ${w.seconds} s later, writes at risk for 0 s: no write was lost`
      : 'write window: the services were not running during the backup, writes at risk for 0 s: no write was lost';
  }
  return (
    `write window: the app kept serving for ${w.seconds} s from the backup's end to the restart, writes at risk for ${w.writesAtRiskSeconds} s ` +
    `(from pg_dump's snapshot): writes accepted then are not in the backup${restored ? ' and were lost by the restore' : ''}`
  );
}
