/**
 * begin-run: {kind: "upgrade"|"rollback", request, executionArn}
 *   upgrade  → HostRunContext
 *   rollback → {run: HostRunContext, backup: RestoreSource}
 * Refusals throw named errors (HostLockedError, HostQuarantinedError,
 * UnknownReleaseError, ReleaseWithdrawnError, HostRetiredError, DestructiveConsentRequiredError, UpgradePathRefusedError,
 * NoUsableBackupError, NewerChangesError, InvalidTaskInputError) that the state machine's Catch
 * turns into a failed execution with that error name.
 */
import { beginRollback, beginUpgrade, BeginRunEvent } from '../../core/host-run';
import { BeginRunEnv } from '../shared/env';
import { hostRunDeps } from '../shared/registry';
import { defineTask } from '../shared/task';

export const { handler, createHandler } = defineTask({
  name: 'begin-run',
  event: BeginRunEvent,
  env: BeginRunEnv,
  deps: (env, log) => hostRunDeps(env, log),
  run: async (e, deps, log) => {
    if (e.kind === 'upgrade') {
      const run = await beginUpgrade(e.request, e.executionArn, deps);
      log.info('run begun', { kind: e.kind, runId: run.runId });
      return run;
    }
    const begun = await beginRollback(e.request, e.executionArn, deps);
    log.info('run begun', { kind: e.kind, runId: begun.run.runId });
    return begun;
  },
});
