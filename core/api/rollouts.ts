/**
 * Rollouts: their waves with each host's result (the live progress the
 * console polls), and the actions on them, each starting or answering the
 * same state machines the CLI does, through the same decisions
 * (core/rollout-requests.ts): start (FleetRollout; again to resume or to
 * upgrade rolled-back hosts again), approve (answers the approval task
 * token), stop (no new host starts), rollback (RolloutRollback). A rollout
 * whose execution ended without its finish task is reconciled first.
 */
import { z } from 'zod';
import { FleetId, Reason, RolloutId, Version } from '../models';
import { RolloutConsentError, RolloutStateError } from '../rollout-lifecycle';
import { currentRollout, requestRolloutRollback, requestRolloutStart, requestRolloutStop, type RolloutRequestDeps } from '../rollout-requests';
import { actorOf, type Caller } from './caller';
import type { ApiDeps } from './deps';
import { ApiError, conflict, notFound, route } from './http';
import { auditAction, requireRelease } from './actions';
import { RolloutHostView, RolloutView, rolloutView, WaveView } from './views';
import { Started } from './workflows';

/** A refusal in the rollout's state is a conflict; a change of consent is invalid input naming the field. */
async function refusals<T>(action: Promise<T>): Promise<T> {
  try {
    return await action;
  } catch (err) {
    if (err instanceof RolloutStateError) throw conflict(err.message);
    if (err instanceof RolloutConsentError) throw new ApiError('invalid-input', err.message, { fields: ['allowDestructive'] });
    throw err;
  }
}

const requestDeps = (deps: Pick<ApiDeps, 'store' | 'workflows' | 'stateMachines'>): RolloutRequestDeps => ({
  store: deps.store,
  workflows: deps.workflows,
  stateMachines: deps.stateMachines,
});

const RolloutDetail = z.object({
  rollout: RolloutView,
  waves: z.array(WaveView.extend({ hosts: z.array(RolloutHostView.partial({ attempt: true, executionArn: true, updatedAt: true }).extend({ result: RolloutHostView.shape.result.or(z.literal('pending')) })) })),
});

/** The rollout, reconciled with its execution. */
async function requireRollout(deps: Pick<ApiDeps, 'store' | 'workflows' | 'stateMachines'>, rolloutId: string, caller: Caller) {
  const rollout = await currentRollout(requestDeps(deps), rolloutId, actorOf(caller));
  if (!rollout) throw notFound(`rollout ${rolloutId}`);
  return rollout;
}

const Params = z.object({ rolloutId: RolloutId });

export const rolloutRoutes = [
  route({
    method: 'GET',
    path: '/rollouts',
    tag: 'rollouts',
    summary: 'Rollouts, newest first (at most 100)',
    query: z.object({ fleetId: FleetId.optional() }),
    response: z.array(RolloutView),
    run: async ({ query }, { store }) => (await store.listRollouts(query.fleetId ? { fleetId: query.fleetId } : {})).map(rolloutView),
  }),
  route({
    method: 'GET',
    path: '/rollouts/{rolloutId}',
    tag: 'rollouts',
    summary: 'One rollout with its waves and every host\'s result (`pending` until the host has one)',
    params: Params,
    response: RolloutDetail,
    run: async ({ params, caller }, deps) => {
      const { store } = deps;
      const rollout = await requireRollout(deps, params.rolloutId, caller);
      const [waves, hosts] = await Promise.all([store.listRolloutWaves(rollout.id), store.listRolloutHosts(rollout.id)]);
      const byHost = new Map(hosts.map((h) => [h.hostId, h]));
      return {
        rollout: rolloutView(rollout),
        waves: waves.map((w) => ({
          ...w,
          hosts: w.hostIds.map(
            (hostId) => byHost.get(hostId) ?? { rolloutId: rollout.id, hostId, wave: w.index, result: 'pending' as const, outcome: null, message: null },
          ),
        })),
      };
    },
  }),
  route({
    method: 'POST',
    path: '/rollouts',
    tag: 'rollouts',
    summary:
      'Start a fleet rollout (FleetRollout), or resume it (hosts already done are not upgraded again; hosts added to the fleet since are included), or start a rolled-back one again. A resume keeps the consent (allowDestructive) it was started with: one that would change it is refused',
    status: 202,
    body: z.object({ fleetId: FleetId, version: Version, allowDestructive: z.boolean().optional() }).strict(),
    response: Started.extend({ rolloutId: RolloutId, attempt: z.number().int() }),
    run: async ({ body, caller }, deps) => {
      const { store } = deps;
      const fleet = await store.getFleet(body.fleetId);
      const version = await requireRelease(store, body.version);
      const requestedBy = actorOf(caller);
      const started = await refusals(requestRolloutStart(requestDeps(deps), { fleetId: fleet.id, version, allowDestructive: body.allowDestructive, requestedBy }));
      const { rolloutId, attempt, executionArn, created } = started;
      if (created) await auditAction(store, caller, 'operator.rollout-start', { rolloutId }, { fleetId: fleet.id, version, allowDestructive: body.allowDestructive ?? null, requestedBy, attempt, executionArn, created });
      return { rolloutId, attempt, executionArn, created };
    },
  }),
  route({
    method: 'POST',
    path: '/rollouts/{rolloutId}/approve',
    tag: 'rollouts',
    summary: 'Let a rollout waiting after staging go on to production',
    params: Params,
    response: z.object({ rolloutId: RolloutId, approved: z.literal(true), approvedBy: z.string() }),
    run: async ({ params, caller }, deps) => {
      const { store, workflows } = deps;
      const rollout = await requireRollout(deps, params.rolloutId, caller);
      if (!rollout.approvalToken) throw conflict(`rollout ${rollout.id} is ${rollout.status}, not waiting for an approval`);
      const by = actorOf(caller);
      await workflows.sendTaskSuccess(rollout.approvalToken, { approvedBy: by });
      await store.approveRollout(rollout.id, by);
      await store.appendAudit({ actor: by, action: 'rollout.approved', rolloutId: rollout.id, details: { from: 'awaiting-approval', to: 'running' } });
      return { rolloutId: rollout.id, approved: true as const, approvedBy: by };
    },
  }),
  route({
    method: 'POST',
    path: '/rollouts/{rolloutId}/stop',
    tag: 'rollouts',
    summary: 'Stop starting new hosts; hosts being upgraded finish. Start the rollout again to resume',
    params: Params,
    response: z.object({ rolloutId: RolloutId, stopRequested: z.literal(true) }),
    run: async ({ params, caller }, deps) => {
      const rollout = await requireRollout(deps, params.rolloutId, caller);
      await refusals(requestRolloutStop(requestDeps(deps), rollout, actorOf(caller)));
      return { rolloutId: rollout.id, stopRequested: true as const };
    },
  }),
  route({
    method: 'POST',
    path: '/rollouts/{rolloutId}/rollback',
    tag: 'rollouts',
    summary: 'Restore every host this rollout upgraded (RolloutRollback); hosts a later run changed are left as they are unless forced',
    status: 202,
    params: Params,
    body: z.object({ reason: Reason.optional(), force: z.boolean().optional() }).strict(),
    response: Started.extend({ rolloutId: RolloutId }),
    run: async ({ params, body, caller }, deps) => {
      const rollout = await requireRollout(deps, params.rolloutId, caller);
      const { input, ...started } = await refusals(
        requestRolloutRollback(requestDeps(deps), rollout, { reason: body.reason ?? 'operator rollback through the operator API', force: body.force, requestedBy: actorOf(caller) }),
      );
      await auditAction(deps.store, caller, 'operator.rollout-rollback', { rolloutId: rollout.id }, { ...input, ...started });
      return { rolloutId: rollout.id, ...started };
    },
  }),
];

