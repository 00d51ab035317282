/**
 * What a finished host run tells the operator: the summary the execution
 * returns (the CLI prints it), with one sentence saying what happened and
 * where the host is now.
 */
import type { HostRunContext, HostStep, RunKind, RunOutcome } from '../models';
import { writeWindowSentence, type WriteWindow } from './write-window';

export interface RunSummary {
  runId: string;
  hostId: string;
  kind: RunKind;
  outcome: RunOutcome;
  status: 'succeeded' | 'failed';
  failedStep: HostStep | null;
  message: string;
  version: string | null;
  backupId: string | null;
  /** How long writes were at risk between the backup and the restart; null when the run took no backup. */
  writeWindow: WriteWindow | null;
  /** One sentence for the operator: what happened and where the host is now (and its write window). */
  cause: string;
}

/** Task errors carry their message in Cause as Lambda's JSON; keep just the message. */
export function causeMessage(cause: string | undefined): string | null {
  if (!cause) return null;
  try {
    // a Lambda error's message, or a failed child execution's own Cause (startExecution.sync
    // puts the child's whole description, input included, in the parent's Cause)
    const parsed = JSON.parse(cause) as { errorMessage?: string; Cause?: unknown };
    return parsed.errorMessage ?? (typeof parsed.Cause === 'string' ? parsed.Cause : cause);
  } catch {
    return cause;
  }
}

export interface SentenceParts {
  run: HostRunContext;
  outcome: RunOutcome;
  succeeded: boolean;
  failedStep: HostStep | null;
  message: string;
  version: string | null;
  backupId: string | null;
  writeWindow: WriteWindow | null;
  /** What made the upgrade fail, for a restored run: the failing step's verdict or the task error. */
  failure: { classification?: string | null; message?: string | null; error?: string | null };
}

export function operatorSentence(p: SentenceParts): string {
  const what = `${p.run.kind} of ${p.run.hostId} to ${p.run.targetVersion}`;
  const sentence =
    p.outcome === 'restored'
      ? `${what} failed at ${p.failedStep ?? 'a step'} (${[p.failure.classification, p.failure.message ?? p.failure.error].filter(Boolean).join(': ') || 'failed'}); the host was restored to ${p.version ?? 'its previous version'} from backup ${p.backupId ?? '?'}`
      : p.outcome === 'rollback-failed'
        ? `${what} failed and the restore failed too (${p.message}); the host is quarantined and an alert was sent`
        : p.succeeded
          ? `${what}: ${p.outcome}`
          : `${what} failed: ${p.outcome}${p.failedStep ? ` at ${p.failedStep}` : ''} (${p.message}); nothing was changed on the host that needs restoring`;
  const window = p.writeWindow ? `; ${writeWindowSentence(p.writeWindow, p.outcome === 'restored')}` : '';
  return `${sentence}${window}`.slice(0, 30000);
}
