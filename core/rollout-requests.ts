/**
 * What an operator asks of a rollout, the one way the CLI and the operator API
 * both do it: start (or resume, or start again), stop, roll back. Each first
 * reconciles a rollout whose execution ended without its finish task
 * (core/rollout-lifecycle.ts), then decides from the rollout's status, then
 * starts or answers the state machine. Inputs are checked by the caller (the
 * CLI's options, the API's zod bodies); these refuse what the rollout's state
 * does not allow (RolloutStateError) and a change of consent (RolloutConsentError).
 */
import type { RolloutActive } from './models';
import type { RegistryStore } from './registry/store';
import type { Rollout } from './registry/rollouts/rollout-store';
import { rolloutExecutionName, rolloutRollbackName } from './api/names';
import type { Started, Workflows } from './api/workflows';
import { defaultRolloutId } from './rollout';
import { consentMessage } from './rollout-plan';
import { isActive, markStopRequested, reconcileRollout, RolloutConsentError, RolloutStateError } from './rollout-lifecycle';

export interface RolloutRequestDeps {
  store: RegistryStore;
  workflows: Pick<Workflows, 'start' | 'describe' | 'sendTaskFailure'>;
  stateMachines: { fleetRollout: string; rolloutRollback: string };
}

/** The rollout as it is now: reconciled with its execution first. */
export async function currentRollout(deps: Pick<RolloutRequestDeps, 'store' | 'workflows'>, rolloutId: string, actor: string): Promise<Rollout | null> {
  const rollout = await deps.store.findRollout(rolloutId);
  return rollout ? reconcileRollout(deps.store, deps.workflows, rollout, actor) : null;
}

/** Why an active rollout cannot be started again now; null when a start finds its running execution. */
function busy(rollout: Rollout): string | null {
  const status = rollout.status as RolloutActive;
  if (status === 'stop-requested') {
    return `rollout ${rollout.id} is stopping: the hosts being upgraded finish first, then it is stopped. Start it again once \`fleetwave rollout status --rollout ${rollout.id}\` says stopped`;
  }
  if (status === 'rolling-back') return `rollout ${rollout.id} is being rolled back (${rollout.executionArn}); start it again once the rollback has ended`;
  return null;
}

export interface StartRequest {
  fleetId: string;
  /** The catalog's spelling (checked by the caller). */
  version: string;
  /** undefined: the rollout's own consent on a resume, false on a first start. */
  allowDestructive?: boolean;
  requestedBy: string;
}

export interface StartResult extends Started {
  rolloutId: string;
  attempt: number;
  /** The status the rollout had before this start (null: it is new); `running` etc. when nothing new was started. */
  previousStatus: Rollout['status'] | null;
}

/**
 * Start the fleet's rollout to `version`: a new rollout, the next attempt of an ended one
 * (stopped, halted: resumed; rolled-back: its hosts upgraded again; succeeded: verified), or,
 * when it is running, that execution (created: false).
 * @throws RolloutStateError while it stops or rolls back; RolloutConsentError when consent would change
 */
export async function requestRolloutStart(deps: RolloutRequestDeps, req: StartRequest): Promise<StartResult> {
  const rolloutId = defaultRolloutId(req.fleetId, req.version);
  const existing = await currentRollout(deps, rolloutId, req.requestedBy);
  if (existing && isActive(existing.status)) {
    const why = busy(existing);
    if (why) throw new RolloutStateError(why);
    if (existing.executionArn) return { rolloutId, attempt: existing.attempt, executionArn: existing.executionArn, created: false, previousStatus: existing.status };
  }
  if (existing && req.allowDestructive !== undefined && req.allowDestructive !== existing.allowDestructive) {
    throw new RolloutConsentError(consentMessage(existing));
  }
  const attempt = (existing?.attempt ?? 0) + 1;
  const input = {
    fleetId: req.fleetId,
    version: req.version,
    requestedBy: req.requestedBy,
    // a resume sends none: the plan task keeps the rollout's own
    ...(req.allowDestructive !== undefined ? { allowDestructive: req.allowDestructive } : existing ? {} : { allowDestructive: false }),
  };
  const started = await deps.workflows.start(deps.stateMachines.fleetRollout, rolloutExecutionName(rolloutId, attempt), input);
  return { rolloutId, attempt, ...started, previousStatus: existing?.status ?? null };
}

/**
 * Ask a running rollout to stop: no new host starts, hosts being upgraded finish; a rollout
 * waiting for approval stops at once (its task token is failed with RolloutStopped).
 * @throws RolloutStateError when it is not running
 */
export async function requestRolloutStop(deps: RolloutRequestDeps, rollout: Rollout, by: string): Promise<void> {
  const now = await reconcileRollout(deps.store, deps.workflows, rollout, by);
  if (now.status === 'stop-requested') throw new RolloutStateError(`rollout ${now.id} is already stopping`);
  if (now.status !== 'running' && now.status !== 'awaiting-approval') throw new RolloutStateError(`rollout ${now.id} is ${now.status}; nothing to stop`);
  const token = now.approvalToken;
  await markStopRequested(deps.store, now.id, by);
  if (token) await deps.workflows.sendTaskFailure(token, 'RolloutStopped', `stopped by ${by}`);
}

export interface RollbackRequest {
  reason: string;
  force?: boolean;
  requestedBy: string;
}

/**
 * Start RolloutRollback for a rollout that is not in progress.
 * @throws RolloutStateError while it runs (stop it first) or rolls back already
 */
export async function requestRolloutRollback(deps: RolloutRequestDeps, rollout: Rollout, req: RollbackRequest): Promise<Started & { input: Record<string, unknown> }> {
  const now = await reconcileRollout(deps.store, deps.workflows, rollout, req.requestedBy);
  if (now.status === 'rolling-back') throw new RolloutStateError(`rollout ${now.id} is already being rolled back (${now.executionArn})`);
  if (isActive(now.status)) throw new RolloutStateError(`rollout ${now.id} is ${now.status}: stop it first (fleetwave rollout stop --rollout ${now.id})`);
  const input = { rolloutId: now.id, reason: req.reason, requestedBy: req.requestedBy, ...(req.force ? { force: true } : {}) };
  // a forced rollback after a refused one is a new execution, not the refused one found again
  const started = await deps.workflows.start(deps.stateMachines.rolloutRollback, rolloutRollbackName(now.id, now.attempt, Boolean(req.force)), input);
  return { ...started, input };
}
