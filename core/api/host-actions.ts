/**
 * The actions on one host, each starting the same state machine the CLI
 * starts, as the authenticated caller: upgrade (HostUpgrade), rollback
 * (HostRollback, refused before it starts when it would discard a later
 * run's changes, unless forced), unlock (lift a quarantine). And a
 * compliance check now (ComplianceCheck).
 */
import { z } from 'zod';
import { backupLabel, chooseBackup, discardedByRestore, describeDiscarded } from '../host-run';
import { FleetId, HostId, Reason, Version } from '../models';
import { actorOf } from './caller';
import { auditAction, requireRelease } from './actions';
import { hostView } from './fleets';
import { ApiError, conflict, route } from './http';
import { executionName } from './names';
import { HostView } from './views';
import { Started } from './workflows';

const Params = z.object({ hostId: HostId });
const Accepted = Started.extend({ hostId: HostId });

export const hostActionRoutes = [
  route({
    method: 'POST',
    path: '/hosts/{hostId}/upgrade',
    tag: 'hosts',
    summary: 'Upgrade one host (HostUpgrade): verified backup first, restore on failure',
    status: 202,
    params: Params,
    body: z.object({ version: Version, allowDestructive: z.boolean().optional() }).strict(),
    response: Accepted,
    run: async ({ params, body, caller }, { store, workflows, stateMachines, now }) => {
      const host = await store.getHost(params.hostId);
      if (host.locked) throw conflict(`host ${host.id} is quarantined: ${host.lockedReason ?? 'rollback failed'}; unlock it first`);
      await requireRelease(store, body.version);
      const input = { hostId: host.id, version: body.version, allowDestructive: Boolean(body.allowDestructive), requestedBy: actorOf(caller) };
      const started = await workflows.start(stateMachines.hostUpgrade, executionName([host.id, body.version], now?.()), input);
      await auditAction(store, caller, 'operator.host-upgrade', { hostId: host.id }, { ...input, ...started });
      return { hostId: host.id, ...started };
    },
  }),
  route({
    method: 'POST',
    path: '/hosts/{hostId}/rollback',
    tag: 'hosts',
    summary: 'Restore a host from a verified backup (HostRollback); default the latest verified one',
    status: 202,
    params: Params,
    body: z
      .object({
        backupId: z.string().uuid({ message: 'backup id must be a UUID (see the host\'s backups)' }).optional(),
        toVersion: Version.optional(),
        reason: Reason.optional(),
        force: z.boolean().optional().describe('restore even over a later run that changed the host (its changes are discarded)'),
      })
      .strict()
      .refine((b) => !(b.backupId && b.toVersion), { message: 'give backupId or toVersion, not both' }),
    response: Accepted,
    run: async ({ params, body, caller }, { store, workflows, stateMachines, now }) => {
      const host = await store.getHost(params.hostId);
      if (body.backupId) {
        const backup = await store.getBackup(body.backupId);
        if (backup.hostId !== host.id) throw new ApiError('invalid-input', `backupId: backup ${backup.id} belongs to ${backup.hostId}, not ${host.id}`, { fields: ['backupId'] });
      }
      // Refused here, before an execution starts, by begin-run's own rule (which still decides:
      // a run may finish in between). An unusable backup is left to begin-run to name.
      const chosen = await chooseBackup(store, host.id, body).catch(() => null);
      if (chosen && !body.force) {
        const discards = await discardedByRestore(store, chosen);
        if (discards.length > 0) throw conflict(describeDiscarded(host.id, backupLabel(chosen), discards), { reason: 'newer-changes', backupId: chosen.id, discards });
      }
      const input = {
        hostId: host.id,
        reason: body.reason ?? 'operator rollback through the operator API',
        requestedBy: actorOf(caller),
        ...(body.backupId ? { backupId: body.backupId } : {}),
        ...(body.toVersion ? { toVersion: body.toVersion } : {}),
        ...(body.force ? { force: true } : {}),
      };
      const name = executionName([host.id, 'rollback', body.backupId ?? body.toVersion ?? 'latest', ...(body.force ? ['force'] : [])], now?.());
      const started = await workflows.start(stateMachines.hostRollback, name, input);
      await auditAction(store, caller, 'operator.host-rollback', { hostId: host.id }, { ...input, ...started });
      return { hostId: host.id, ...started };
    },
  }),
  route({
    method: 'POST',
    path: '/hosts/{hostId}/unlock',
    tag: 'hosts',
    summary: 'Lift a host\'s quarantine (after a failed restore was dealt with by hand)',
    params: Params,
    body: z.object({ reason: Reason }).strict(),
    response: HostView,
    run: async ({ params, body, caller }, { store }) => {
      const before = await store.getHost(params.hostId);
      // refused while a run holds the lease (HostLockedError → 409), as `host unlock` is
      const host = await store.unlockHost(before.id, actorOf(caller), body.reason);
      await auditAction(store, caller, 'operator.host-unlock', { hostId: host.id }, { wasLocked: before.locked, reason: body.reason });
      return hostView(host);
    },
  }),
  route({
    method: 'POST',
    path: '/compliance/checks',
    tag: 'compliance',
    summary: 'Start a compliance check now (ComplianceCheck; it also runs on its schedule)',
    status: 202,
    body: z.object({ fleetId: FleetId.optional() }).strict(),
    response: Started,
    run: async ({ body, caller }, { store, workflows, stateMachines, now }) => {
      if (body.fleetId) await store.getFleet(body.fleetId);
      const input = body.fleetId ? { fleetId: body.fleetId } : {};
      const started = await workflows.start(stateMachines.complianceCheck, executionName(['compliance', body.fleetId ?? 'all-fleets'], now?.()), input);
      await auditAction(store, caller, 'operator.compliance-run', {}, { ...input, ...started });
      return started;
    },
  }),
];
