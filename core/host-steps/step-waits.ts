/**
 * A host step waits for its SSM command as a `.waitForTaskToken` task
 * (state-machines/host-step.ts; decision: docs/decisions/host-step-wait.md).
 * send-step records the task token against the command (`recordStepWait`);
 * the token is answered here, with exactly the StepOutcome poll-step's
 * classification gives (`pollStep`, the one place a command's end is read):
 *
 * - `onCommandStatusChange`: SSM's "EC2 Command Invocation Status-change
 *   Notification" for a terminal status answers the command's open waits at
 *   once (about a second after the command ended);
 * - `safetyPoll`: on a slow schedule, every open wait is looked at again.
 *   SSM's events are best effort ("in some rare cases an event might not be
 *   delivered", https://docs.aws.amazon.com/eventbridge/latest/ref/event-delivery-level.html),
 *   so a missed one is answered here; a command past its deadline is
 *   cancelled and answered TimedOut (pollStep); a live one gets
 *   SendTaskHeartbeat (it resets the task's HeartbeatSeconds clock,
 *   https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskHeartbeat.html)
 *   and its run's lease is renewed, so a long step never outlives its lease.
 *
 * Answering twice is harmless: Step Functions refuses a second answer for a
 * token (TaskTimedOut) and the wait is closed either way.
 */
import type { HostRunContext, SentCommand, StepOutcome } from '../models';
import type { LeaseStore } from '../registry/leases/lease-store';
import type { StepWait, StepWaitStore } from '../registry/step-waits/step-wait-store';
import { pollStep, type PollStepDeps } from './poll-step';

/** Step Functions' callback API, as far as a waiting step needs it. */
export interface TaskCallbacks {
  /** SendTaskSuccess; `closed` when the task no longer takes an answer (answered, timed out, execution ended). */
  succeed(taskToken: string, output: StepOutcome): Promise<'answered' | 'closed'>;
  /** SendTaskHeartbeat; `closed` as above. */
  heartbeat(taskToken: string): Promise<'alive' | 'closed'>;
}

export interface StepWaitDeps extends PollStepDeps {
  store: StepWaitStore & Pick<LeaseStore, 'renewLease'>;
  callbacks: TaskCallbacks;
  /** The lease TTL begin-run grants; renewal restarts it. */
  leaseTtlSeconds: number;
  log?: (message: string, fields: Record<string, unknown>) => void;
  /** How often, and how long apart, an event for an unknown command looks for its wait again. */
  lookupRetries?: number;
  lookupDelayMs?: number;
}

/** SSM invocation statuses after which nothing more happens (Run Command statuses, Systems Manager user guide, monitor-commands.html). */
const TERMINAL = new Set(['Success', 'Failed', 'TimedOut', 'Cancelled', 'DeliveryTimedOut', 'ExecutionTimedOut', 'Undeliverable', 'Terminated']);

export async function recordStepWait(store: StepWaitStore, taskToken: string, run: HostRunContext, sent: SentCommand): Promise<void> {
  await store.openStepWait({ taskToken, run, sent });
}

export type WaitResult = 'answered' | 'pending' | 'closed';

/** Read the command; when it ended (or passed its deadline) answer the token and close the wait. */
export async function answerStepWait(wait: StepWait, deps: StepWaitDeps): Promise<{ result: WaitResult; outcome: StepOutcome }> {
  const outcome = await pollStep({ run: wait.run, command: wait.sent }, deps);
  if (outcome.status === 'Pending') return { result: 'pending', outcome };
  const answer = await deps.callbacks.succeed(wait.taskToken, outcome);
  await deps.store.closeStepWait(wait.taskToken, answer === 'answered' ? `answered: ${outcome.status}` : 'the task no longer waits');
  deps.log?.('step answered', { runId: wait.run.runId, step: wait.sent.step, commandId: wait.sent.commandId, status: outcome.status, answer });
  return { result: answer === 'answered' ? 'answered' : 'closed', outcome };
}

export interface CommandStatusChange {
  commandId: string;
  instanceId: string;
  status: string;
}

/**
 * A command's status changed. Only a terminal status answers; the wait may be
 * written a moment after SendCommand returned, so an unknown command is looked
 * for again briefly before it is taken for one that no step waits for.
 */
export async function onCommandStatusChange(change: CommandStatusChange, deps: StepWaitDeps): Promise<WaitResult[]> {
  if (!TERMINAL.has(change.status)) return [];
  const retries = deps.lookupRetries ?? 4;
  let waits: StepWait[] = [];
  for (let i = 0; i <= retries; i++) {
    waits = (await deps.store.listStepWaits({ commandId: change.commandId })).filter((w) => w.sent.instanceId === change.instanceId);
    if (waits.length > 0 || i === retries) break;
    await new Promise((r) => setTimeout(r, deps.lookupDelayMs ?? 250));
  }
  const results: WaitResult[] = [];
  for (const wait of waits) results.push((await answerStepWait(wait, deps)).result);
  return results;
}

export interface SafetyPollSummary {
  answered: number;
  alive: number;
  closed: number;
  failed: number;
}

/** Look at every open wait once: answer the ended, heartbeat the live and renew their leases, close the abandoned. */
export async function safetyPoll(deps: StepWaitDeps, limit = 500): Promise<SafetyPollSummary> {
  const summary: SafetyPollSummary = { answered: 0, alive: 0, closed: 0, failed: 0 };
  for (const wait of await deps.store.listOpenStepWaits(limit)) {
    try {
      const { result } = await answerStepWait(wait, deps);
      if (result !== 'pending') {
        summary[result] += 1;
        continue;
      }
      if ((await deps.callbacks.heartbeat(wait.taskToken)) === 'closed') {
        // the execution ended or the task timed out: nobody waits for this command any more
        await deps.store.closeStepWait(wait.taskToken, 'the task no longer waits');
        summary.closed += 1;
        continue;
      }
      summary.alive += 1;
      await deps.store.renewLease(wait.run.hostId, wait.run.leaseToken, deps.leaseTtlSeconds).catch((err: Error) => {
        deps.log?.('lease not renewed', { runId: wait.run.runId, hostId: wait.run.hostId, error: err.name });
      });
    } catch (err) {
      // one unreadable command must not starve the others; the next poll tries again
      summary.failed += 1;
      deps.log?.('step wait not checked', { runId: wait.run.runId, commandId: wait.sent.commandId, error: (err as Error).name });
    }
  }
  return summary;
}
