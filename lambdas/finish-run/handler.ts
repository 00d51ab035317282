/**
 * finish-run: {run, request, outcome, failedStep, verdict, error, executionArn} → RunSummary
 * Records the outcome, releases the lease (unless inherited from a parent
 * run), and on rollback-failed quarantines the host and publishes an alert.
 */
import { finishHostRun, FinishRunEvent } from '../../core/host-run';
import { FinishRunEnv } from '../shared/env';
import { alertSink, hostRunDeps } from '../shared/registry';
import { defineTask } from '../shared/task';

export const { handler, createHandler } = defineTask({
  name: 'finish-run',
  event: FinishRunEvent,
  env: FinishRunEnv,
  deps: (env, log) => hostRunDeps(env, log, alertSink(env)),
  run: async (event, deps, log) => {
    const summary = await finishHostRun(event, deps);
    log.info('run finished', { runId: summary.runId, outcome: summary.outcome, failedStep: summary.failedStep });
    return summary;
  },
});
