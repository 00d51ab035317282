/**
 * The fleetwave command's exit codes: the one table every command uses, with
 * and without --wait (README "Exit codes" lists it from here), and the rules
 * that map what happened to a code.
 */
import { isRegistryUnavailable } from '../core/registry/recovery';

export const EXIT = {
  ok: 0,
  failed: 1,
  invalidInput: 2,
  restored: 3,
  rollbackFailed: 4,
  unreachable: 5,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** What each code means, as README and `--help` say it. */
export const EXIT_CODES: readonly { code: ExitCode; meaning: string }[] = [
  { code: EXIT.ok, meaning: 'ok (started, or with --wait: finished as asked)' },
  { code: EXIT.failed, meaning: 'failed (the workflow failed, halted or stopped, or the action was refused in this state)' },
  { code: EXIT.invalidInput, meaning: 'bad input (an option, a file, an unknown host, fleet, release or backup)' },
  { code: EXIT.restored, meaning: 'an upgrade failed and the host was restored from its backup' },
  { code: EXIT.rollbackFailed, meaning: 'a rollback (restore) failed: the host is quarantined' },
  { code: EXIT.unreachable, meaning: 'could not reach the registry or AWS' },
];

/**
 * Errors a workflow ends with because its request was wrong: the operator can fix the input
 * (HostUpgrade / HostRollback / FleetRollout refusals before anything changed on a host). A
 * host that is locked or quarantined is not bad input: it is a refusal in the host's state (1).
 */
const BAD_INPUT_ERRORS = new Set([
  'InvalidTaskInputError',
  'InvalidRegistryInputError',
  'HostNotFoundError',
  'FleetNotFoundError',
  'ReleaseNotFoundError',
  'ReleaseWithdrawnError',
  'HostRetiredError',
  'NewerChangesError',
  'BackupNotFoundError',
  'BackupStateError',
  'RolloutNotFoundError',
  'RolloutConflictError',
  'RolloutRefusedError',
  'RolloutConsentError',
  'DestructiveConsentRequiredError',
  'UnknownReleaseError',
  'UpgradePathRefusedError',
  'NoUsableBackupError',
  'InvalidStepInputError',
]);

/** The exit code of a workflow that ended with `error` (Step Functions' execution error). */
export function exitCodeOfExecutionError(error: string | null): ExitCode {
  if (!error) return EXIT.failed;
  if (error === 'UpgradeRestored' || error === 'RolloutRolledBack') return EXIT.restored;
  if (error === 'RollbackFailed') return EXIT.rollbackFailed;
  return BAD_INPUT_ERRORS.has(error) ? EXIT.invalidInput : EXIT.failed;
}

/** The exit code of an error the command itself threw (not a CliError, not an unreachable service): bad input by name, else 1. */
export function exitCodeOfError(err: Error): ExitCode {
  return BAD_INPUT_ERRORS.has(err.name) ? EXIT.invalidInput : EXIT.failed;
}

/** Network failures of node's sockets and the AWS SDK (no answer at all, as opposed to an answer that refuses). */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);
const AWS_NETWORK_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'NetworkingError']);

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  // node's happy-eyeballs connect fails with an AggregateError of each address's error
  const inner = (err as { errors?: unknown[] } | null)?.errors?.[0];
  return inner ? codeOf(inner) : undefined;
}

/**
 * Which service an error says could not be reached, or null. AWS SDK errors carry `$metadata`;
 * anything else here comes from the registry's driver.
 */
export function unreachableService(err: unknown): 'registry' | 'AWS' | null {
  if (!(err instanceof Error)) return null;
  const aws = '$metadata' in err;
  const code = codeOf(err);
  if (aws) return (code && NETWORK_CODES.has(code)) || AWS_NETWORK_NAMES.has(err.name) ? 'AWS' : null;
  if (code && NETWORK_CODES.has(code)) return 'registry';
  return isRegistryUnavailable(err) || (err.cause !== undefined && isRegistryUnavailable(err.cause)) ? 'registry' : null;
}

/** The sentence the CLI prints for an unreachable service: says exactly that, and where. */
export function unreachableMessage(service: 'registry' | 'AWS', where: string | null, err: Error): string {
  const detail = err.message || codeOf(err) || err.name;
  return `could not reach the ${service}${where ? ` (${where})` : ''}: ${detail}`;
}

/** What a rollout's exit code is read from: its status and each host's result. */
export interface RolloutOutcome {
  status: string;
  hosts: readonly { result: string; outcome: string | null }[];
}

/**
 * `rollout start --wait`: 4 when any host's restore failed (quarantined), 0 when the rollout
 * succeeded, 3 when it was rolled back or halted with every failed host restored, else 1
 * (halted, stopped before every host was upgraded, failed).
 */
export function rolloutExitCode(r: RolloutOutcome): ExitCode {
  if (r.hosts.some((h) => h.result === 'rollback-failed')) return EXIT.rollbackFailed;
  if (r.status === 'succeeded') return EXIT.ok;
  if (r.status === 'rolled-back') return EXIT.restored;
  const failed = r.hosts.filter((h) => h.result === 'failed' || h.result === 'refused' || h.result === 'unreachable');
  if (r.status === 'halted' && failed.length > 0 && failed.every((h) => h.outcome === 'restored')) return EXIT.restored;
  return EXIT.failed;
}

/**
 * `rollback --rollout --wait`: 4 when any host's restore failed, 2 when hosts were refused
 * (a later run changed them: --force restores them), 0 when every host was restored, else 1.
 */
export function rolloutRollbackExitCode(executionStatus: string, r: RolloutOutcome & { refused: number }): ExitCode {
  if (r.hosts.some((h) => h.result === 'rollback-failed')) return EXIT.rollbackFailed;
  if (executionStatus !== 'SUCCEEDED') return EXIT.failed;
  return r.refused > 0 ? EXIT.invalidInput : EXIT.ok;
}
