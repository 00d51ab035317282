/**
 * Failure classification of a host run: what the operator reads first.
 */
import type { HostStep, RunOutcome, StepOutcome } from './models';

const BY_STEP: Record<HostStep, RunOutcome> = {
  preflight: 'preflight-failed',
  backup: 'backup-failed',
  'pull-images': 'pull-failed',
  'pin-tags': 'pull-failed',
  restart: 'unhealthy',
  'watch-schema': 'schema-sync-failed',
  'health-check': 'unhealthy',
  restore: 'rollback-failed',
  inventory: 'preflight-failed',
};

/** Classify a terminal, unsuccessful step outcome. */
export function classifyStep(outcome: Pick<StepOutcome, 'step' | 'status' | 'error'>): RunOutcome {
  if (outcome.status === 'Undeliverable') return 'unreachable';
  if (outcome.status === 'TimedOut') return 'timed-out';
  if (outcome.error === 'license-expired') return 'license-expired';
  return BY_STEP[outcome.step];
}

/** Classify an error a task threw (the Catch's `$.error.Error`) at a step. */
export function classifyError(errorName: string | null | undefined, step: HostStep | null): RunOutcome {
  if (errorName === 'HostUnreachableError') return 'unreachable';
  if (errorName === 'States.Timeout') return 'timed-out';
  return step ? BY_STEP[step] : 'preflight-failed';
}
