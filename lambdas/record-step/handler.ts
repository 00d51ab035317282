/**
 * record-step: {run, outcome, backup?, verification?, request?} → Verdict
 * Records the step in the registry (fenced by the run's lease) and says what
 * it means: ok, classification, and for preflight the decision proceed|noop.
 */
import { recordStepOutcome } from '../../core/host-run';
import { hostRunDeps, logger, rethrowScrubbed } from '../shared/registry-task';

export async function handler(event: unknown) {
  try {
    const verdict = await recordStepOutcome(event, await hostRunDeps());
    logger.info('step recorded', { step: verdict.step, ok: verdict.ok, classification: verdict.classification });
    return verdict;
  } catch (err) {
    rethrowScrubbed(err);
  }
}
