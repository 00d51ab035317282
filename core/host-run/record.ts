/**
 * record-step: write a step's outcome to the registry (fenced by the run's
 * lease) and say what it means for the state machine's Choice: ok, the
 * classification of a failure, and for preflight the decision proceed|noop.
 */
import { z } from 'zod';
import { BackupVerification } from '../backup-storage/ports';
import { classifyStep } from '../classify';
import { BackupResult, PreflightResult } from '../host-steps/results';
import { HostRunContext, StepOutcome, Version, type HostStep, type RunOutcome } from '../models';
import { decideUpgradePath } from '../release-rules';
import { emptyAsNull, type HostRunDeps } from './context';

/** The backup target as the state machine carries it after complete-backup (`$.backup`). */
const VerifiedTarget = z.object({
  backupId: z.string().uuid(),
  dataKey: z.string(),
  configKey: z.string(),
  verification: BackupVerification,
});

export const RecordStepEvent = z.object({
  run: HostRunContext,
  outcome: StepOutcome,
  /** The backup target (prepare-backup's result, with `verification` after complete-backup). */
  backup: emptyAsNull(z.record(z.string(), z.unknown())),
  /** Set on the record that follows complete-backup. */
  verification: z.boolean().optional(),
  request: z.record(z.string(), z.unknown()).optional(),
});
export type RecordStepEvent = z.infer<typeof RecordStepEvent>;

export interface Verdict {
  ok: boolean;
  step: HostStep;
  classification: RunOutcome | null;
  message: string | null;
  /** preflight only */
  decision?: 'proceed' | 'noop';
  fromVersion?: string | null;
  estimatedBytes?: number;
}

export async function recordStepOutcome(event: RecordStepEvent, deps: HostRunDeps): Promise<Verdict> {
  const { run, outcome } = event;
  const { store } = deps;
  await store.recordStep(run.runId, run.leaseToken, outcome);
  const failed = (message: string | null, classification?: RunOutcome): Verdict => ({
    ok: false,
    step: outcome.step,
    classification: classification ?? classifyStep(outcome),
    message,
  });
  if (outcome.status !== 'Success') {
    return failed(outcome.message ?? outcome.error ?? `${outcome.step} ended ${outcome.status}`);
  }

  if (outcome.step === 'preflight') {
    const r = PreflightResult.safeParse(outcome.result ?? {});
    if (!r.success) return failed('preflight printed no usable result line');
    const pre = r.data;
    if (pre.mode && pre.mode !== run.mode) {
      return failed(`the host runs in ${pre.mode} mode but is registered as ${run.mode}: fix the fleet file`);
    }
    if (pre.mixedVersions) return failed('the three services run different versions: fix the host first');
    const current = pre.currentVersion ?? null;
    if (current) await store.recordObservedVersion(run.hostId, current);
    const path = decideUpgradePath(current, run.targetVersion, await store.listReleases());
    if (path.kind === 'refused') return failed(path.reason);
    if (path.kind === 'proceed' && path.destructive) {
      const request = event.request as { allowDestructive?: boolean } | undefined;
      if (!request?.allowDestructive) {
        return failed(`${current ?? 'unknown'} → ${run.targetVersion} crosses a destructive release: consent (allowDestructive) is required`);
      }
    }
    return {
      ok: true,
      step: 'preflight',
      classification: null,
      message: null,
      decision: path.kind === 'noop' ? 'noop' : 'proceed',
      fromVersion: current,
      estimatedBytes: Math.max(1, Math.round(pre.dataBytesEstimate ?? 0)),
    };
  }

  if (outcome.step === 'backup' && event.verification) {
    const target = VerifiedTarget.safeParse(event.backup);
    if (!target.success) return failed('backup target or verification missing', 'backup-failed');
    const { backupId, dataKey, configKey, verification } = target.data;
    // complete-backup already refused an unusable line; a row is written either way so the
    // registry shows every backup that was attempted, verified or not
    const line = BackupResult.safeParse(outcome.result);
    const result = line.success ? line.data : null;
    // The version a restore of this backup brings back is the one its config pins, which the
    // backup step reports. Preflight may not have known the running version (services down):
    // falling back to the target would make the restore verify a version it never restores.
    const pinned = Version.safeParse(result?.version);
    const backupVersion = pinned.success ? pinned.data : (run.fromVersion ?? run.targetVersion);
    await store.createBackup({
      id: backupId,
      hostId: run.hostId,
      runId: run.runId,
      version: backupVersion,
      mode: run.mode,
      dataKey,
      dataFormat: result?.data.format ?? (run.mode === 'external' ? 'pgdump' : 'tar.gz'),
      configKey,
    });
    const entries = result?.data.entries ?? 0;
    if (!verification.verified || !result || entries <= 0) {
      const reason =
        verification.reason ??
        (!result ? 'the backup step printed no usable result line' : entries <= 0 ? 'the archive listed no entries' : 'verification failed');
      await store.markBackupFailed(backupId, reason);
      return failed(`backup not verified: ${reason}`, 'backup-failed');
    }
    await store.markBackupVerified(backupId, run.leaseToken, {
      dataBytes: verification.dataBytes!,
      dataSha256: verification.dataSha256!,
      dataEntries: entries,
      configBytes: verification.configBytes!,
      configSha256: verification.configSha256!,
      dataVersionId: verification.dataVersionId,
      configVersionId: verification.configVersionId,
    });
    return { ok: true, step: 'backup', classification: null, message: null };
  }

  if (outcome.step === 'health-check' || outcome.step === 'restore') {
    await store.recordObservedVersion(run.hostId, run.targetVersion);
  }
  return { ok: true, step: outcome.step, classification: null, message: null };
}
