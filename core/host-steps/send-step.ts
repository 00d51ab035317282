/**
 * send-step: start one host step as an SSM command, at most once per run,
 * step and attempt. A Lambda retried after SendCommand succeeded (timeout,
 * throttled response, crashed container) finds its earlier command by the
 * deterministic comment and returns it instead of sending a second one.
 */
import { z } from 'zod';
import type { HostRunContext, HostStep, SentCommand } from '../models';
import { requireEnvVarAgent } from './agent-version';
import { InvalidStepInputError } from './errors';
import { buildStepParameters, documentNameFor, STEP_EXECUTION_TIMEOUT_SECONDS } from './parameters';
import type { CommandRunner } from './ports';
import { resolveTransfers, type TransferLocation } from './transfers';

export const OUTPUT_KEY_PREFIX = 'command-output';
/** Clock skew between the run's start (Lambda clock) and SSM's RequestedDateTime. */
export const LOOKBACK_MS = 60_000;

/** A repeated step within one run (e.g. health-check after a restore) gets its own attempt key. */
export const Attempt = z.union([z.number().int().min(0).max(99_999), z.string().regex(/^[a-z0-9-]{1,24}$/)]);
export type Attempt = z.infer<typeof Attempt>;

export function commandComment(runId: string, step: HostStep, attempt?: Attempt): string {
  const comment = attempt === undefined ? `fw:${runId}:${step}` : `fw:${runId}:${step}:${attempt}`;
  // SSM's Comment limit; with a uuid run id the longest key is ~70 characters.
  if (comment.length > 100) throw new InvalidStepInputError('command comment longer than 100 characters', ['attempt']);
  return comment;
}

export interface SendStepDeps {
  runner: CommandRunner;
  /** The backup bucket backup/restore commands name (the host signs its own requests). */
  transfers?: TransferLocation;
  /** e.g. `Fleetwave-`; the document is `<prefix><PascalStep>`. */
  documentPrefix: string;
  outputBucket: string;
  outputKeyPrefix?: string;
  /** SSM TimeoutSeconds: how long the command may wait for the agent (SSM allows 30..2592000). */
  deliveryTimeoutSeconds: number;
  /** Slack on top of SSM's own timeouts before poll-step gives up on its own. */
  graceSeconds: number;
  executionTimeouts?: Partial<Record<HostStep, number>>;
  now?: () => number;
}

export interface SendStepInput {
  run: HostRunContext;
  step: HostStep;
  extra?: unknown;
  attempt?: Attempt;
}

/**
 * Deadline for poll-step. It covers delivery as well as execution: a command
 * may legitimately wait up to the delivery timeout before it starts, and SSM
 * reports that case itself (DeliveryTimedOut). Declaring TimedOut before SSM
 * would send a never-delivered, harmless command down the probe/restore path.
 */
export function stepDeadline(sentAt: number, step: HostStep, deps: SendStepDeps): number {
  const execution = deps.executionTimeouts?.[step] ?? STEP_EXECUTION_TIMEOUT_SECONDS[step];
  return sentAt + (deps.deliveryTimeoutSeconds + execution + deps.graceSeconds) * 1000;
}

export async function sendStep(input: SendStepInput, deps: SendStepDeps): Promise<SentCommand> {
  const { run, step } = input;
  // Validation first: a refused value never reaches SSM, not even ListCommands.
  const extra = resolveTransfers(step, run, input.extra ?? {}, deps.transfers);
  const parameters = buildStepParameters(step, run, extra);
  const comment = commandComment(run.runId, step, input.attempt);
  const documentName = documentNameFor(step, deps.documentPrefix);
  // A run's first command: an agent too old for ENV_VAR would run every script with its parameters unset.
  if (step === 'preflight') await requireEnvVarAgent(run.instanceId, deps.runner);

  const earlier = await deps.runner.findByComment({
    instanceId: run.instanceId,
    comment,
    documentName,
    invokedAfter: run.startedAt - LOOKBACK_MS,
  });
  const now = deps.now ?? Date.now;
  const command =
    earlier ??
    (await deps.runner.send({
      documentName,
      instanceId: run.instanceId,
      parameters,
      comment,
      deliveryTimeoutSeconds: deps.deliveryTimeoutSeconds,
      outputBucket: deps.outputBucket,
      outputKeyPrefix: deps.outputKeyPrefix ?? OUTPUT_KEY_PREFIX,
    }));

  // A found command keeps its own send time, so a retry never extends its deadline.
  const sentAt = earlier ? earlier.requestedAt : now();
  return {
    step,
    commandId: command.commandId,
    instanceId: run.instanceId,
    documentName,
    sentAt,
    deadline: stepDeadline(sentAt, step, deps),
  };
}
