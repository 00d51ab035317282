/**
 * record-step: {run, outcome, backup?, verification?, request?} → Verdict
 * Records the step in the registry (fenced by the run's lease) and says what
 * it means: ok, classification, and for preflight the decision proceed|noop.
 */
import { recordStepOutcome, RecordStepEvent } from '../../core/host-run';
import { RecordStepEnv } from '../shared/env';
import { hostRunDeps } from '../shared/registry';
import { defineTask } from '../shared/task';

export const { handler, createHandler } = defineTask({
  name: 'record-step',
  event: RecordStepEvent,
  env: RecordStepEnv,
  deps: (env, log) => hostRunDeps(env, log),
  run: async (event, deps, log) => {
    const verdict = await recordStepOutcome(event, deps);
    log.info('step recorded', { step: verdict.step, ok: verdict.ok, classification: verdict.classification });
    return verdict;
  },
});
