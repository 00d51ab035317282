/**
 * Execution names the API starts workflows with. Step Functions names are 1-80
 * characters of A-Za-z0-9-_ (StartExecution), and a name already used is
 * refused (ExecutionAlreadyExists), which makes a repeated start idempotent:
 * one start per host and version (or per rollout attempt) and minute.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
 */
export function executionName(parts: string[], now = new Date()): string {
  const stamp = now.toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', 't');
  return [...parts, stamp].join('--').replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80);
}

/** A rollout's attempt `n` and its rollback: deterministic, so a retried start finds its execution. */
export const rolloutExecutionName = (rolloutId: string, attempt: number) => `${rolloutId}--a${attempt}`;
export const rolloutRollbackName = (rolloutId: string, attempt: number, force: boolean) =>
  `${rolloutId}--rollback--a${attempt}${force ? '--force' : ''}`;
