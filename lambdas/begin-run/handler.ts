/**
 * begin-run: {kind: "upgrade"|"rollback", request, executionArn}
 *   upgrade  → HostRunContext
 *   rollback → {run: HostRunContext, backup: RestoreSource}
 * Refusals throw named errors (HostLockedError, HostQuarantinedError,
 * UnknownReleaseError, DestructiveConsentRequiredError, UpgradePathRefusedError,
 * NoUsableBackupError, InvalidTaskInputError) that the state machine's Catch
 * turns into a failed execution with that error name.
 */
import { z } from 'zod';
import { beginRollback, beginUpgrade, parseInput } from '../../core/host-run';
import { RunKind } from '../../core/models';
import { hostRunDeps, logger, rethrowScrubbed } from '../shared/registry-task';

const Event = z.object({
  kind: RunKind,
  request: z.unknown(),
  executionArn: z.string().min(1),
});

export async function handler(event: unknown) {
  try {
    const e = parseInput(Event, event, 'begin-run event');
    const deps = await hostRunDeps();
    const result = e.kind === 'upgrade' ? await beginUpgrade(e.request, e.executionArn, deps) : await beginRollback(e.request, e.executionArn, deps);
    logger.info('run begun', { kind: e.kind, runId: 'run' in result ? result.run.runId : result.runId });
    return result;
  } catch (err) {
    rethrowScrubbed(err);
  }
}
