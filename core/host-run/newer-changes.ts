/**
 * The rule for restoring an older backup: a restore of backup B puts B's data
 * back, so it discards every change a later successful run made to the host
 * (a later upgrade, or a rollback to another version). Both `rollback --host`
 * (beginRollback) and `rollback --rollout` (next-rollback-batch) refuse such a
 * restore unless the operator forces it, and name what it would discard.
 */
import type { HostRun } from '../registry/store';
import { NewerChangesError } from './errors';

/** The backup a restore would bring back, as far as the rule needs it. */
export interface RestorePoint {
  /** The run that took the backup: its own change is what the restore undoes. */
  runId: string | null;
  /** When the backup was taken (or its run started), epoch ms: runs of one host are serialized by its lease. */
  takenAt: number;
  /** The version the backup's data belongs to. */
  version: string;
}

/** A run the restore would undo, as the refusal and the audit name it. */
export interface DiscardedRun {
  runId: string;
  kind: HostRun['kind'];
  from: string | null;
  to: string;
  finishedAt: string | null;
}

const changedHost = (run: HostRun, point: RestorePoint) =>
  run.status === 'succeeded' &&
  run.outcome === 'succeeded' && // a noop changed nothing; a restored or failed run left the host where it was
  (run.kind === 'upgrade' || run.targetVersion !== point.version);

/** The successful runs that changed the host after the backup was taken, oldest first. */
export function changesDiscardedBy(point: RestorePoint, runs: HostRun[]): DiscardedRun[] {
  return runs
    .filter((r) => r.id !== point.runId && r.startedAt >= point.takenAt && changedHost(r, point))
    .sort((a, b) => a.startedAt - b.startedAt)
    .map((r) => ({
      runId: r.id,
      kind: r.kind,
      from: r.fromVersion,
      to: r.targetVersion,
      finishedAt: r.finishedAt === null ? null : new Date(r.finishedAt).toISOString(),
    }));
}

/** One sentence an operator reads: what the restore would discard, and how to go ahead anyway. */
export function describeDiscarded(hostId: string, backupLabel: string, discarded: DiscardedRun[]): string {
  const runs = discarded.map((d) => `run ${d.runId} (${d.kind} ${d.from ?? '?'} → ${d.to}, finished ${d.finishedAt ?? 'at an unknown time'})`);
  return (
    `restoring ${backupLabel} on host ${hostId} would discard ${discarded.length === 1 ? 'a later change' : `${discarded.length} later changes`}: ` +
    `${runs.join('; ')}; pass force (--force) to restore anyway`
  );
}

/** @throws NewerChangesError when the restore would discard a later run's changes and is not forced */
export function assertNothingNewer(hostId: string, backupLabel: string, discarded: DiscardedRun[], force: boolean | undefined): void {
  if (discarded.length > 0 && !force) throw new NewerChangesError(describeDiscarded(hostId, backupLabel, discarded));
}
