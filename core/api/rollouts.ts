/**
 * Rollouts: their waves with each host's result (the live progress the
 * console polls), and the actions on them, each starting or answering the
 * same state machines the CLI does: start (FleetRollout; again to resume),
 * approve (answers the approval task token), stop (no new host starts),
 * rollback (RolloutRollback).
 */
import { z } from 'zod';
import { FleetId, Reason, RolloutId, Version, type RolloutStatus } from '../models';
import { defaultRolloutId } from '../rollout';
import type { RegistryStore } from '../registry/store';
import { actorOf } from './caller';
import { conflict, notFound, route } from './http';
import { rolloutExecutionName, rolloutRollbackName } from './names';
import { auditAction, requireRelease } from './actions';
import { RolloutHostView, RolloutView, rolloutView, WaveView } from './views';
import { Started } from './workflows';

const ACTIVE = new Set<RolloutStatus>(['running', 'awaiting-approval', 'stop-requested']);

const RolloutDetail = z.object({
  rollout: RolloutView,
  waves: z.array(WaveView.extend({ hosts: z.array(RolloutHostView.partial({ attempt: true, executionArn: true, updatedAt: true }).extend({ result: RolloutHostView.shape.result.or(z.literal('pending')) })) })),
});

async function requireRollout(store: RegistryStore, rolloutId: string) {
  const rollout = await store.findRollout(rolloutId);
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
    run: async ({ params }, { store }) => {
      const rollout = await requireRollout(store, params.rolloutId);
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
    summary: 'Start a fleet rollout (FleetRollout), or resume it: hosts already done are not upgraded again',
    status: 202,
    body: z.object({ fleetId: FleetId, version: Version, allowDestructive: z.boolean().optional() }).strict(),
    response: Started.extend({ rolloutId: RolloutId, attempt: z.number().int() }),
    run: async ({ body, caller }, deps) => {
      const { store, workflows, stateMachines } = deps;
      const fleet = await store.getFleet(body.fleetId);
      await requireRelease(store, body.version);
      const rolloutId = defaultRolloutId(fleet.id, body.version);
      const existing = await store.findRollout(rolloutId);
      if (existing && ACTIVE.has(existing.status) && existing.executionArn) {
        return { rolloutId, attempt: existing.attempt, executionArn: existing.executionArn, created: false };
      }
      const attempt = (existing?.attempt ?? 0) + 1;
      const requestedBy = actorOf(caller);
      const input = { fleetId: fleet.id, version: body.version, allowDestructive: Boolean(body.allowDestructive), requestedBy };
      const started = await workflows.start(stateMachines.fleetRollout, rolloutExecutionName(rolloutId, attempt), input);
      await auditAction(store, caller, 'operator.rollout-start', { rolloutId }, { ...input, attempt, ...started });
      return { rolloutId, attempt, ...started };
    },
  }),
  route({
    method: 'POST',
    path: '/rollouts/{rolloutId}/approve',
    tag: 'rollouts',
    summary: 'Let a rollout waiting after staging go on to production',
    params: Params,
    response: z.object({ rolloutId: RolloutId, approved: z.literal(true), approvedBy: z.string() }),
    run: async ({ params, caller }, { store, workflows }) => {
      const rollout = await requireRollout(store, params.rolloutId);
      if (!rollout.approvalToken) throw conflict(`rollout ${rollout.id} is ${rollout.status}, not waiting for an approval`);
      const by = actorOf(caller);
      await workflows.sendTaskSuccess(rollout.approvalToken, { approvedBy: by });
      await store.approveRollout(rollout.id, by);
      await store.appendAudit({ actor: by, action: 'rollout.approved', rolloutId: rollout.id, details: {} });
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
    run: async ({ params, caller }, { store, workflows }) => {
      const rollout = await requireRollout(store, params.rolloutId);
      if (!ACTIVE.has(rollout.status)) throw conflict(`rollout ${rollout.id} is ${rollout.status}; nothing to stop`);
      const by = actorOf(caller);
      await store.setRolloutStatus(rollout.id, 'stop-requested');
      if (rollout.approvalToken) await workflows.sendTaskFailure(rollout.approvalToken, 'RolloutStopped', `stopped by ${by}`);
      await store.appendAudit({ actor: by, action: 'rollout.stop-requested', rolloutId: rollout.id, details: {} });
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
    run: async ({ params, body, caller }, { store, workflows, stateMachines }) => {
      const rollout = await requireRollout(store, params.rolloutId);
      if (ACTIVE.has(rollout.status)) throw conflict(`rollout ${rollout.id} is ${rollout.status}: stop it first`);
      const input = {
        rolloutId: rollout.id,
        reason: body.reason ?? 'operator rollback through the operator API',
        requestedBy: actorOf(caller),
        ...(body.force ? { force: true } : {}),
      };
      const started = await workflows.start(stateMachines.rolloutRollback, rolloutRollbackName(rollout.id, rollout.attempt, Boolean(body.force)), input);
      await auditAction(store, caller, 'operator.rollout-rollback', { rolloutId: rollout.id }, { ...input, ...started });
      return { rolloutId: rollout.id, ...started };
    },
  }),
];

