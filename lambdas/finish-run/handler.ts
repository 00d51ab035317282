/**
 * finish-run: {run, request, outcome, failedStep, verdict, error, executionArn} → RunSummary
 * Records the outcome, releases the lease (unless inherited from a parent
 * run), and on rollback-failed quarantines the host and publishes an alert.
 */
import { finishHostRun } from '../../core/host-run';
import { FinishRunEnv } from '../shared/registry-env';
import { hostRunDeps, logger, parseEnv, rethrowScrubbed, snsAlerts } from '../shared/registry-task';

const env = parseEnv(FinishRunEnv);
const alerts = snsAlerts(env.ALERT_TOPIC_ARN);

export async function handler(event: unknown) {
  try {
    const summary = await finishHostRun(event, await hostRunDeps(alerts));
    logger.info('run finished', { runId: summary.runId, outcome: summary.outcome, failedStep: summary.failedStep });
    return summary;
  } catch (err) {
    rethrowScrubbed(err);
  }
}
