/**
 * poll-step: one look at a sent command, classified for the state machine's
 * Choice state. Expected outcomes (failed, timed out, agent offline) come
 * back as data; only unexpected errors (throttling, bugs) throw.
 */
import type { HostRunContext, SentCommand, StepOutcome, StepStatus } from '../models';
import type { CommandOutputReader, CommandRunner, Invocation } from './ports';
import { redactDeep, redactSecrets } from '../redact';
import { OUTPUT_KEY_PREFIX } from './send-step';

/** GetCommandInvocation returns the first 24,000 characters of stdout (SSM API reference). */
export const INLINE_STDOUT_LIMIT = 24_000;
/** The SSM agent's marker when it cut the inline output. */
const TRUNCATION_MARKER = /-{2,}\s*Output truncated\s*-{2,}/i;
/** How much of the S3 stdout tail to read: the result line is last; 256 KiB is far more than any result line. */
export const STDOUT_TAIL_BYTES = 256 * 1024;
/** Result lines bigger than this are not carried through Step Functions (256 KiB payload limit). */
export const MAX_RESULT_LINE_CHARS = 64 * 1024;
const MAX_MESSAGE_CHARS = 1000;

const NOT_STARTED_OR_RUNNING = new Set(['Pending', 'InProgress', 'Delayed', 'Cancelling']);
/** StatusDetails meaning the agent never ran the command: nothing changed on the host. */
const UNDELIVERED_DETAILS = new Set(['DeliveryTimedOut', 'Undeliverable', 'InvalidPlatform', 'Terminated']);

export interface PollStepDeps {
  runner: CommandRunner;
  output: CommandOutputReader;
  outputBucket: string;
  outputKeyPrefix?: string;
  now?: () => number;
}

export interface PollStepInput {
  run: HostRunContext;
  command: SentCommand;
}

/**
 * The last line of `stdout` that is a JSON object with a string `step`.
 * Progress lines, garbage and JSON without `step` before or after it are ignored.
 */
export function parseResultLine(stdout: string): Record<string, unknown> | null {
  const lines = stdout.split(/\r?\n/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (!line.startsWith('{') || !line.endsWith('}') || line.length > MAX_RESULT_LINE_CHARS) continue;
    try {
      const value: unknown = JSON.parse(line);
      if (value && typeof value === 'object' && !Array.isArray(value) && typeof (value as { step?: unknown }).step === 'string') {
        return value as Record<string, unknown>;
      }
    } catch {
      // not JSON: a progress line that happens to start with a brace
    }
  }
  return null;
}

/**
 * StatusDetails of an execution timeout ("Execution Timed Out": the command started but did not
 * finish before its timeout; SSM API reference, GetCommandInvocation), whatever Status says.
 */
const EXECUTION_TIMED_OUT = new Set(['ExecutionTimedOut', 'Execution Timed Out']);

function statusOf(inv: Invocation): Exclude<StepStatus, 'Pending'> | 'Running' | 'Unknown' {
  if (UNDELIVERED_DETAILS.has(inv.statusDetails)) return 'Undeliverable';
  if (EXECUTION_TIMED_OUT.has(inv.statusDetails)) return 'TimedOut';
  if (NOT_STARTED_OR_RUNNING.has(inv.status)) return 'Running';
  switch (inv.status) {
    case 'Success':
      return 'Success';
    case 'Failed':
      return 'Failed';
    case 'TimedOut':
      return 'TimedOut'; // ExecutionTimedOut; DeliveryTimedOut was caught above
    case 'Cancelled':
      return 'Cancelled';
    default:
      return 'Unknown';
  }
}

const DEFAULT_ERROR: Record<Exclude<StepStatus, 'Pending' | 'Success'>, string> = {
  Failed: 'command-failed',
  TimedOut: 'timed-out',
  Undeliverable: 'agent-offline',
  Cancelled: 'cancelled',
};

const clip = (s: string) => (s.length > MAX_MESSAGE_CHARS ? `${s.slice(0, MAX_MESSAGE_CHARS)}…` : s);
const textField = (v: unknown) => (typeof v === 'string' && v.length > 0 ? clip(redactSecrets(v)) : null);

export async function pollStep(input: PollStepInput, deps: PollStepDeps): Promise<StepOutcome> {
  const { command } = input;
  const now = (deps.now ?? Date.now)();
  const prefix = `${deps.outputKeyPrefix ?? OUTPUT_KEY_PREFIX}/${command.commandId}/${command.instanceId}/`;
  const base = { step: command.step, commandId: command.commandId };
  const inv = await deps.runner.getInvocation({ commandId: command.commandId, instanceId: command.instanceId });
  const status = inv ? statusOf(inv) : 'Running';

  if (status === 'Running' || status === 'Unknown') {
    if (now <= command.deadline) {
      return { ...base, status: 'Pending', result: null, error: null, message: null, outputUri: null };
    }
    // SSM should have ended it by now; stop it so it cannot act after the
    // state machine has moved on to probing or restoring.
    await deps.runner.cancel({ commandId: command.commandId, instanceId: command.instanceId }).catch(() => undefined);
    return {
      ...base,
      status: 'TimedOut',
      result: null,
      error: 'deadline-exceeded',
      message: `no final status from SSM by the deadline (last: ${inv ? `${inv.status}/${inv.statusDetails}` : 'InvocationDoesNotExist'}); command cancelled`,
      outputUri: inv ? `s3://${deps.outputBucket}/${prefix}` : null,
    };
  }

  if (status === 'Undeliverable') {
    return {
      ...base,
      status,
      result: null,
      error: DEFAULT_ERROR.Undeliverable,
      message: `the SSM agent did not run the command (${inv!.statusDetails})`,
      outputUri: null,
    };
  }

  const stdout = await fullStdout(inv!, prefix, deps);
  const parsed = parseResultLine(stdout);
  const result = parsed ? redactDeep(parsed) : null;
  const outputUri = `s3://${deps.outputBucket}/${prefix}`;

  if (status === 'Success') {
    // Exit 0 alone is not proof: the contract is a result line for this step with ok:true.
    if (!result || result.step !== command.step || result.ok !== true) {
      return {
        ...base,
        status: 'Failed',
        result,
        error: textField(result?.error) ?? 'invalid-result',
        message: result
          ? `exit code 0 but the result line is not {"step":"${command.step}","ok":true}`
          : 'exit code 0 but no result line on stdout',
        outputUri,
      };
    }
    return { ...base, status, result, error: null, message: textField(result.message), outputUri };
  }

  return {
    ...base,
    status,
    result,
    error: textField(result?.error) ?? DEFAULT_ERROR[status],
    message: textField(result?.message) ?? `SSM status ${inv!.status}/${inv!.statusDetails}, exit code ${inv!.responseCode}`,
    outputUri,
  };
}

/** Inline stdout when complete, else the tail of the full copy in S3 (falling back to inline if S3 has none). */
async function fullStdout(inv: Invocation, prefix: string, deps: PollStepDeps): Promise<string> {
  const truncated = inv.stdout.length >= INLINE_STDOUT_LIMIT || TRUNCATION_MARKER.test(inv.stdout);
  if (!truncated) return inv.stdout;
  const tail = await deps.output.readStdoutTail({
    bucket: deps.outputBucket,
    prefix,
    url: inv.stdoutUrl,
    maxBytes: STDOUT_TAIL_BYTES,
  });
  return tail ?? inv.stdout;
}
