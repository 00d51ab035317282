/** Fleets and hosts: the fleet at a glance (hosts by tier and version, quarantined first) and one host in full. */
import { z } from 'zod';
import { FleetId, HostId, TIERS } from '../models';
import type { Host } from '../registry/store';
import { route } from './http';
import { BackupView, FleetView, HostView, ReleaseView, RunView } from './views';

const Limit = z.coerce.number().int().min(1).max(1000).optional().describe('at most this many, newest first');

/** A host with its last run, as the fleet page lists it. */
export const HostSummary = HostView.extend({
  lastRun: RunView.nullable(),
  /** `quarantined` (locked after a failed restore), `running` (a run in progress) or `ready`. */
  state: z.enum(['quarantined', 'running', 'ready']),
});

const hostView = ({ leaseSeq: _seq, ...h }: Host) => h;
const runView = <T extends { leaseToken: number }>({ leaseToken: _t, ...r }: T) => r;

/** Quarantined hosts first, then by fleet, tier (staging before production) and id. */
const order = (a: z.input<typeof HostSummary>, b: z.input<typeof HostSummary>) =>
  Number(b.locked) - Number(a.locked) || a.fleetId.localeCompare(b.fleetId) || TIERS.indexOf(a.tier) - TIERS.indexOf(b.tier) || a.id.localeCompare(b.id);

export const fleetRoutes = [
  route({
    method: 'GET',
    path: '/fleets',
    tag: 'fleets',
    summary: 'Every fleet with its desired version and settings',
    response: z.array(FleetView),
    run: async (_i, { store }) => store.listFleets(),
  }),
  route({
    method: 'GET',
    path: '/fleets/{fleetId}',
    tag: 'fleets',
    summary: 'One fleet',
    params: z.object({ fleetId: FleetId }),
    response: FleetView,
    run: async ({ params }, { store }) => store.getFleet(params.fleetId),
  }),
  route({
    method: 'GET',
    path: '/hosts',
    tag: 'hosts',
    summary: 'Hosts with their version, state and last run; quarantined hosts first',
    query: z.object({ fleetId: FleetId.optional() }),
    response: z.array(HostSummary),
    run: async ({ query }, { store }) => {
      const hosts = await store.listHosts(query.fleetId ? { fleetId: query.fleetId } : {});
      const rows = await Promise.all(
        hosts.map(async (h) => {
          const [last] = await store.listRuns({ hostId: h.id, limit: 1 });
          const state = h.locked ? 'quarantined' : last?.status === 'running' ? 'running' : 'ready';
          return { ...hostView(h), lastRun: last ? runView(last) : null, state } as const;
        }),
      );
      return rows.sort(order);
    },
  }),
  route({
    method: 'GET',
    path: '/hosts/{hostId}',
    tag: 'hosts',
    summary: 'One host: its configuration, recent runs and backups',
    params: z.object({ hostId: HostId }),
    query: z.object({ runs: Limit }),
    response: z.object({ host: HostView, runs: z.array(RunView), backups: z.array(BackupView) }),
    run: async ({ params, query }, { store }) => {
      const host = await store.getHost(params.hostId);
      const [runs, backups] = await Promise.all([store.listRuns({ hostId: host.id, limit: query.runs ?? 20 }), store.listBackups(host.id)]);
      return { host: hostView(host), runs: runs.map(runView), backups };
    },
  }),
  route({
    method: 'GET',
    path: '/hosts/{hostId}/backups',
    tag: 'hosts',
    summary: 'A host\'s backups, newest first; only `verified` ones can be restored',
    params: z.object({ hostId: HostId }),
    response: z.array(BackupView),
    run: async ({ params }, { store }) => {
      await store.getHost(params.hostId);
      return store.listBackups(params.hostId);
    },
  }),
  route({
    method: 'GET',
    path: '/releases',
    tag: 'fleets',
    summary: 'The release catalog, in version order',
    response: z.array(ReleaseView),
    run: async (_i, { store }) => store.listReleases(),
  }),
];

export { hostView, runView };
