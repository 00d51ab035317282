/**
 * The records of SSM Run Command (a command, its per-instance invocations and
 * their per-step plugins) and the status rules that read them, following the
 * SSM API reference and "Understanding command statuses": terminal statuses,
 * how an exit code maps to a status, how an invocation's status reaches its
 * plugins, the aggregated command status (MaxErrors applies), output limits.
 * service.ts moves invocations through these statuses.
 */
import { STOPPED_PREEMPTIVELY_EXIT_CODE, type RunningStep, type StepResult } from './agent';
import type { RenderedStep } from './document';
import { maxErrorsCount } from './rate-control';

/** GetCommandInvocation inlines the first 24,000 characters of stdout and 8,000 of stderr. */
export const STDOUT_INLINE_LIMIT = 24_000;
export const STDERR_INLINE_LIMIT = 8_000;
/** ListCommandInvocations' CommandPlugins[].Output holds at most 2,500 characters (agent iohandler). */
export const PLUGIN_OUTPUT_LIMIT = 2_500;

export const COMMAND_STATUSES = ['Pending', 'InProgress', 'Success', 'Cancelled', 'Failed', 'TimedOut', 'Cancelling'] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];
export type InvocationStatus = CommandStatus | 'Delayed';
/** Statuses an invocation (and a command) does not leave. */
export const TERMINAL: ReadonlySet<InvocationStatus> = new Set(['Success', 'Cancelled', 'TimedOut', 'Failed']);

export interface PluginState {
  name: string;
  status: InvocationStatus;
  statusDetails: string;
  responseCode: number;
  startedAt: number | null;
  endedAt: number | null;
  stdout: string;
  stderr: string;
  stdoutUrl: string;
  stderrUrl: string;
  outputS3KeyPrefix: string;
}

export interface InvocationState {
  commandId: string;
  instanceId: string;
  status: InvocationStatus;
  statusDetails: string;
  visibleAt: number;
  deliveredAt: number | null;
  plugins: PluginState[];
  running: RunningStep | null;
  deliveryTimer: NodeJS.Timeout | null;
  cancelRequested: boolean;
  /** Told of every status change (SSM sends each to EventBridge: lab/events.ts). */
  onStatusChange?: (invocation: InvocationState) => void;
  /** Rate control sent it to the node (rate-control.ts); until then it waits, Pending. */
  sent: boolean;
}

export interface CommandState {
  commandId: string;
  documentName: string;
  documentVersion: string;
  comment: string;
  instanceIds: string[];
  parameters: Record<string, string[]>;
  requestedAt: number;
  expiresAt: number;
  deliveryTimeoutSeconds: number;
  outputS3BucketName: string;
  outputS3KeyPrefix: string;
  outputS3Region: string;
  maxConcurrency: string;
  maxErrors: string;
  serviceRoleArn: string;
  notificationConfig: Record<string, unknown>;
  cloudWatchOutputConfig: { CloudWatchLogGroupName: string; CloudWatchOutputEnabled: boolean };
  steps: RenderedStep[];
  invocations: Map<string, InvocationState>;
  cancelled: boolean;
}

/** Service errors carry the name the SDK surfaces as `error.name`. */
export class SsmError extends Error {
  constructor(
    override readonly name: string,
    message: string,
  ) {
    super(message);
  }
}

export interface SendCommandRequest {
  DocumentName: string;
  /** `$DEFAULT` (the default), `$LATEST` or a version number. */
  DocumentVersion?: string;
  InstanceIds: string[];
  Parameters?: Record<string, string[]>;
  Comment?: string;
  TimeoutSeconds?: number;
  OutputS3BucketName?: string;
  OutputS3KeyPrefix?: string;
  OutputS3Region?: string;
  MaxConcurrency?: string;
  MaxErrors?: string;
  ServiceRoleArn?: string;
  NotificationConfig?: Record<string, unknown>;
  CloudWatchOutputConfig?: { CloudWatchLogGroupName?: string; CloudWatchOutputEnabled?: boolean };
}

/** The agent's TruncateOutput: stdout, an error banner, stderr, within 2,500 characters. */
export function combinedPluginOutput(stdout: string, stderr: string, capacity = PLUGIN_OUTPUT_LIMIT): string {
  const errTitle = '\n----------ERROR-------\n';
  const truncOut = '\n---Output truncated---';
  const truncErr = '\n---Error truncated----';
  const title = stderr.length > 0 ? errTitle : '';
  const available = capacity - title.length;
  if (stdout.length + stderr.length < available) return `${stdout}${title}${stderr}`;
  if (stdout.length > available / 2 && stderr.length > available / 2) {
    const size = available - truncErr.length - truncOut.length;
    return `${stdout.slice(0, Math.floor(size / 2))}${truncOut}${title}${stderr.slice(0, Math.floor(size / 2))}${truncErr}`;
  }
  if (stdout.length <= available / 2) {
    const size = available - truncErr.length;
    return `${stdout}${title}${stderr.slice(0, size - stdout.length)}${truncErr}`;
  }
  const size = available - truncOut.length;
  return `${stdout.slice(0, size - stderr.length)}${truncOut}${title}${stderr}`;
}

/** The agent's GetStatus (pluginutil_unix.go): 137 is TimedOut unless the command was cancelled. */
export function statusForExit(result: StepResult): { status: InvocationStatus; details: string } {
  if (result.exitCode === 0) return { status: 'Success', details: 'Success' };
  if (result.exitCode === STOPPED_PREEMPTIVELY_EXIT_CODE) {
    return result.stoppedBy === 'cancel' ? { status: 'Cancelled', details: 'Cancelled' } : { status: 'TimedOut', details: 'ExecutionTimedOut' };
  }
  return { status: 'Failed', details: 'Failed' };
}

/**
 * Sets the invocation's status and carries it to every plugin that has not
 * finished yet: GetCommandInvocation reports per plugin, so a Delayed or
 * Cancelling invocation must read that way there too.
 */
export function setInvocationStatus(invocation: InvocationState, status: InvocationStatus, details: string): void {
  const changed = invocation.status !== status;
  invocation.status = status;
  invocation.statusDetails = details;
  for (const plugin of invocation.plugins) {
    if (!TERMINAL.has(plugin.status)) {
      plugin.status = status;
      plugin.statusDetails = details;
    }
  }
  if (TERMINAL.has(status) && invocation.deliveryTimer) {
    clearTimeout(invocation.deliveryTimer);
    invocation.deliveryTimer = null;
  }
  if (changed) invocation.onStatusChange?.(invocation);
}

/** An invocation whose steps all ran ends with the most severe plugin status. */
export function finishInvocation(invocation: InvocationState): void {
  const statuses = invocation.plugins.map((p) => p.status);
  if (statuses.includes('Cancelled')) setInvocationStatus(invocation, 'Cancelled', 'Cancelled');
  else if (statuses.includes('TimedOut')) setInvocationStatus(invocation, 'TimedOut', 'ExecutionTimedOut');
  else if (statuses.includes('Failed')) setInvocationStatus(invocation, 'Failed', 'Failed');
  else setInvocationStatus(invocation, 'Success', 'Success');
}

/** Invocations appear a moment after SendCommand, as on AWS. */
export function isVisible(invocation: InvocationState): boolean {
  return Date.now() >= invocation.visibleAt;
}

/** Aggregated command status, per "Understanding command statuses" (MaxErrors applies). */
export function commandStatus(command: CommandState): {
  status: CommandStatus;
  details: string;
  completed: number;
  errors: number;
  deliveryTimedOut: number;
} {
  const invocations = [...command.invocations.values()];
  const completed = invocations.filter((i) => TERMINAL.has(i.status)).length;
  const failed = invocations.filter((i) => i.status === 'Failed' && i.statusDetails !== 'Undeliverable').length;
  const executionTimedOut = invocations.filter((i) => i.statusDetails === 'ExecutionTimedOut').length;
  const deliveryTimedOut = invocations.filter((i) => i.statusDetails === 'DeliveryTimedOut').length;
  const undeliverable = invocations.filter((i) => i.statusDetails === 'Undeliverable').length;
  const cancelled = invocations.filter((i) => i.status === 'Cancelled').length;
  const errors = failed + executionTimedOut;
  const base = { completed, errors, deliveryTimedOut };
  if (completed < invocations.length) {
    if (invocations.some((i) => i.status === 'Cancelling')) return { status: 'Cancelling', details: 'Cancelling', ...base };
    const started = invocations.some((i) => i.deliveredAt !== null || TERMINAL.has(i.status));
    return started ? { status: 'InProgress', details: 'InProgress', ...base } : { status: 'Pending', details: 'Pending', ...base };
  }
  const maxErrors = maxErrorsCount(command.maxErrors, invocations.length);
  if (command.cancelled && cancelled > 0) return { status: 'Cancelled', details: 'Cancelled', ...base };
  if (errors > maxErrors) {
    return failed > 0 ? { status: 'Failed', details: 'Failed', ...base } : { status: 'TimedOut', details: 'ExecutionTimedOut', ...base };
  }
  if (deliveryTimedOut > maxErrors) return { status: 'TimedOut', details: 'DeliveryTimedOut', ...base };
  if (undeliverable === invocations.length) return { status: 'Failed', details: 'Undeliverable', ...base };
  const succeeded = invocations.filter((i) => i.status === 'Success').length;
  if (succeeded + undeliverable === invocations.length) return { status: 'Success', details: 'Success', ...base };
  if (cancelled > 0 && cancelled + succeeded + undeliverable === invocations.length) return { status: 'Cancelled', details: 'Cancelled', ...base };
  return { status: 'Failed', details: 'Incomplete', ...base };
}
