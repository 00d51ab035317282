/**
 * A rollout's lifecycle (docs/rollout-lifecycle.md): its statuses, the
 * transitions between them, one function per transition, each audited
 * (`rollout.<status>`, details `{from, to, …}`), and the reconciliation of a
 * rollout whose execution ended without its finish task.
 *
 *   created → running ⇄ awaiting-approval → stop-requested → stopped | halted | succeeded | rolled-back | failed
 *   an ended rollout → running (the next attempt) | rolling-back → rolled-back | failed
 *
 * Only this module sets a rollout's status (RolloutStore.setRolloutStatus; the
 * store's startRollout and approval calls make the transitions they name).
 */
import { RolloutActive, type RolloutEnd, type RolloutStatus } from './models';
import type { RegistryStore } from './registry/store';
import type { Rollout } from './registry/rollouts/rollout-store';

export type LifecycleStore = Pick<RegistryStore, 'getRollout' | 'setRolloutStatus' | 'appendAudit'>;

/** A rollout in progress: an execution of it is expected to be running. */
export const isActive = (status: RolloutStatus): boolean => (RolloutActive.options as readonly string[]).includes(status);

/** A request the rollout's status does not allow now (not bad input: try again once it has moved on). */
export class RolloutStateError extends Error {
  override name = 'RolloutStateError';
}

/** A resume that would change the consent the rollout was started with. */
export class RolloutConsentError extends Error {
  override name = 'RolloutConsentError';
}

const ENDS: readonly RolloutEnd[] = ['succeeded', 'halted', 'rolled-back', 'failed', 'stopped'];

/** Every transition the lifecycle allows: from → the statuses it may go to. */
export const TRANSITIONS: Readonly<Record<RolloutStatus, readonly RolloutStatus[]>> = {
  created: ['running', 'failed'],
  running: ['awaiting-approval', 'stop-requested', 'rolling-back', ...ENDS],
  'awaiting-approval': ['running', 'stop-requested', ...ENDS],
  'stop-requested': ['rolling-back', ...ENDS],
  'rolling-back': ['rolled-back', 'failed'],
  succeeded: ['running', 'rolling-back', 'failed'],
  halted: ['running', 'rolling-back', 'failed'],
  stopped: ['running', 'rolling-back', 'failed'],
  'rolled-back': ['running', 'rolling-back', 'failed'],
  failed: ['running', 'rolling-back', 'failed'],
};

async function transition(
  store: LifecycleStore,
  rolloutId: string,
  to: RolloutStatus,
  actor: string,
  details: Record<string, unknown> = {},
  executionArn?: string,
): Promise<RolloutStatus> {
  const from = (await store.getRollout(rolloutId)).status;
  // an end recorded twice (RolloutRollback's finish, then its FleetRollout parent's) is recorded once
  if (from === to && !isActive(to)) return from;
  if (!TRANSITIONS[from].includes(to)) throw new RolloutStateError(`rollout ${rolloutId} is ${from}; it cannot become ${to}`);
  await store.setRolloutStatus(rolloutId, to, executionArn);
  await store.appendAudit({ actor, action: `rollout.${to}`, rolloutId, details: { from, to, ...details } });
  return from;
}

/** created → running (attempt 1), audited `rollout.started`; a resume is audited by {@link auditResumed}. */
export async function markStarted(store: LifecycleStore, rolloutId: string, actor: string, details: Record<string, unknown>): Promise<void> {
  const from = (await store.getRollout(rolloutId)).status;
  if (from === 'running') return; // a retried plan task of the same execution
  await store.setRolloutStatus(rolloutId, 'running');
  await store.appendAudit({ actor, action: 'rollout.started', rolloutId, details: { from, to: 'running', ...details } });
}

/** An ended rollout → running: the store's startRollout made the transition; this audits it. */
export async function auditResumed(store: LifecycleStore, rolloutId: string, from: RolloutStatus | null, actor: string, details: Record<string, unknown>): Promise<void> {
  await store.appendAudit({ actor, action: 'rollout.resumed', rolloutId, details: { from, to: 'running', ...details } });
}

/** running | awaiting-approval → stop-requested: hosts being upgraded finish, no new one starts. */
export async function markStopRequested(store: LifecycleStore, rolloutId: string, actor: string): Promise<void> {
  await transition(store, rolloutId, 'stop-requested', actor);
}

/** An ended (or failing-over) rollout → rolling-back, driven by the RolloutRollback execution `executionArn`. */
export async function markRollingBack(store: LifecycleStore, rolloutId: string, actor: string, executionArn: string, details: Record<string, unknown>): Promise<void> {
  const from = (await store.getRollout(rolloutId)).status;
  if (from === 'rolling-back') return; // a retried plan task
  await transition(store, rolloutId, 'rolling-back', actor, details, executionArn);
}

/** → how the rollout ended (the finish tasks of FleetRollout and RolloutRollback). */
export async function markEnded(store: LifecycleStore, rolloutId: string, status: RolloutEnd, actor: string, details: Record<string, unknown>): Promise<void> {
  await transition(store, rolloutId, status, actor, details);
}

/**
 * What Step Functions says of an execution: DescribeExecution's `status`
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html);
 * an execution stopped with StopExecution (not supported for EXPRESS workflows, which
 * fleetwave does not use) is ABORTED, its history ending in ExecutionAborted, and its
 * finish task has not run (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html).
 */
export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';

export interface ExecutionReader {
  /** DescribeExecution's status, error and cause. */
  describe(executionArn: string): Promise<{ status: ExecutionStatus; error: string | null; cause: string | null }>;
}

/** How a rollout ended whose execution stopped without its finish task. */
export function endOfExecution(status: ExecutionStatus): RolloutEnd {
  // stopped from the console (StopExecution) is an operator's stop; anything else did not finish
  return status === 'ABORTED' ? 'stopped' : 'failed';
}

/**
 * A rollout that is active but whose execution has ended (stopped from the console, timed out,
 * failed before its finish task) never becomes active again by itself: end it as its execution
 * did, audited `rollout.reconciled` and `rollout.<status>`. Returns the rollout as it is now.
 * A running execution, a rollout that is not active, or one with no execution: unchanged.
 */
export async function reconcileRollout(store: LifecycleStore, executions: ExecutionReader, rollout: Rollout, actor: string): Promise<Rollout> {
  if (!isActive(rollout.status) || !rollout.executionArn) return rollout;
  const e = await executions.describe(rollout.executionArn);
  if (e.status === 'RUNNING' || e.status === 'PENDING_REDRIVE') return rollout;
  // read again: the finish task may have run between the read and DescribeExecution
  const now = await store.getRollout(rollout.id);
  if (!isActive(now.status)) return now;
  const status = endOfExecution(e.status);
  const details = { executionArn: rollout.executionArn, execution: e.status, error: e.error, cause: e.cause?.slice(0, 500) ?? null };
  await store.appendAudit({ actor, action: 'rollout.reconciled', rolloutId: rollout.id, details: { from: now.status, to: status, ...details } });
  await transition(store, rollout.id, status, actor, details);
  return store.getRollout(rollout.id);
}

/**
 * The scheduled check's sweep (ComplianceCheck's plan task): reconcile every active rollout
 * among the newest 100 whose execution has ended. Returns the ids reconciled.
 */
export async function reconcileActiveRollouts(
  store: LifecycleStore & Pick<RegistryStore, 'listRollouts'>,
  executions: ExecutionReader,
  actor: string,
): Promise<string[]> {
  const reconciled: string[] = [];
  for (const rollout of await store.listRollouts()) {
    if (!isActive(rollout.status)) continue;
    const now = await reconcileRollout(store, executions, rollout, actor);
    if (now.status !== rollout.status) reconciled.push(rollout.id);
  }
  return reconciled;
}
