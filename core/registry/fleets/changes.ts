/**
 * What applying a fleet file changes, decided once for both adapters and for
 * `fleet apply --dry-run`: pure, from what the registry holds and the file.
 * The file is the whole fleet: hosts it no longer lists are retired.
 */
import type { z } from 'zod';
import { HOST_FIELDS, type Fleet, type FleetChanges, type FleetProblem, type Host, UpsertFleetInput, UpsertHostInput } from './fleet-store';

/** What the registry holds that the file is compared with. */
export interface FleetState {
  fleet: Fleet | null;
  /** Every host of the fleet (active or retired), and every host elsewhere sharing an id or an active instance id with the file. */
  hosts: Host[];
  /** Unexpired leases of the fleet's hosts. */
  leases: Map<string, { holder: string; expiresAt: number }>;
}

export interface FleetPlan {
  changes: FleetChanges;
  problems: FleetProblem[];
  /** Hosts to write: added, changed or reinstated (and moved here from another fleet where they were retired). */
  upsert: z.output<typeof UpsertHostInput>[];
  retire: string[];
}

/** JSON with sorted keys: jsonb gives objects back in its own key order. */
const stable = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x,
  );

function settingsChanged(before: Fleet, f: z.output<typeof UpsertFleetInput>): string[] {
  const changed: string[] = [];
  if (before.appProfile !== f.appProfile) changed.push('appProfile');
  if (f.desiredVersion !== undefined && before.desiredVersion !== f.desiredVersion) changed.push('desiredVersion');
  const keys = new Set([...Object.keys(before.config), ...Object.keys(f.config)]);
  for (const k of [...keys].sort()) if (stable(before.config[k]) !== stable(f.config[k])) changed.push(k);
  return changed;
}

const hostFields = (h: Host, want: z.output<typeof UpsertHostInput>): string[] =>
  HOST_FIELDS.filter((k) => (k === 'wave' ? (h.wave ?? null) !== (want.wave ?? null) : h[k] !== want[k]));

export function planFleetChanges(state: FleetState, fleet: z.output<typeof UpsertFleetInput>, hosts: z.output<typeof UpsertHostInput>[]): FleetPlan {
  const fleetId = fleet.id;
  const settings = state.fleet ? settingsChanged(state.fleet, fleet) : [];
  const plan: FleetPlan = {
    changes: {
      fleetId,
      fleet: state.fleet === null ? 'created' : settings.length > 0 ? 'changed' : 'unchanged',
      settings,
      added: [],
      changed: [],
      retired: [],
      reinstated: [],
      unchanged: 0,
    },
    problems: [],
    upsert: [],
    retire: [],
  };
  const byId = new Map(state.hosts.map((h) => [h.id, h]));
  const wanted = new Set(hosts.map((h) => h.id));
  const retiring = new Set(state.hosts.filter((h) => h.fleetId === fleetId && h.retiredAt === null && !wanted.has(h.id)).map((h) => h.id));
  for (const want of hosts) {
    const h = { ...want, fleetId, wave: want.wave ?? null };
    const before = byId.get(h.id);
    const elsewhere = state.hosts.find((o) => o.retiredAt === null && o.instanceId === h.instanceId && o.id !== h.id && !retiring.has(o.id));
    if (elsewhere && elsewhere.fleetId !== fleetId) {
      plan.problems.push({ hostId: h.id, field: 'instanceId', message: `instance ${h.instanceId} is host ${elsewhere.id} of fleet ${elsewhere.fleetId}: one instance is one host` });
      continue;
    }
    if (before && before.fleetId !== fleetId && before.retiredAt === null) {
      plan.problems.push({
        hostId: h.id,
        field: 'id',
        message: `host ${h.id} belongs to fleet ${before.fleetId}: apply ${before.fleetId}'s fleet file without it first (that retires it there)`,
      });
      continue;
    }
    if (!before) {
      plan.changes.added.push(h.id);
      plan.upsert.push(h);
    } else if (before.retiredAt !== null || before.fleetId !== fleetId) {
      plan.changes.reinstated.push(h.id);
      plan.upsert.push(h);
    } else {
      const fields = hostFields(before, h);
      if (fields.length === 0) plan.changes.unchanged += 1;
      else {
        plan.changes.changed.push({ hostId: h.id, fields });
        plan.upsert.push(h);
      }
    }
  }
  for (const id of [...retiring].sort()) {
    const lease = state.leases.get(id);
    if (lease) {
      plan.problems.push({
        hostId: id,
        field: null,
        message: `host ${id} is not in the file, but a run holds its lease (${lease.holder}, until ${new Date(lease.expiresAt).toISOString()}): apply the file again once that run has finished`,
      });
      continue;
    }
    plan.changes.retired.push(id);
    plan.retire.push(id);
  }
  return plan;
}

/** The audit entries of an applied plan: one for the fleet, one per host it touched. */
export function auditEntriesOf(plan: FleetPlan, actor: string): { actor: string; action: string; hostId?: string; details: Record<string, unknown> }[] {
  const c = plan.changes;
  return [
    {
      actor,
      action: 'fleet.applied',
      details: {
        fleet: c.fleetId,
        fleetChange: c.fleet,
        settings: c.settings,
        added: c.added.length,
        changed: c.changed.length,
        retired: c.retired,
        reinstated: c.reinstated,
        unchanged: c.unchanged,
      },
    },
    ...c.added.map((hostId) => ({ actor, action: 'host.added', hostId, details: { fleet: c.fleetId } })),
    ...c.changed.map(({ hostId, fields }) => ({ actor, action: 'host.changed', hostId, details: { fleet: c.fleetId, fields } })),
    ...c.reinstated.map((hostId) => ({ actor, action: 'host.reinstated', hostId, details: { fleet: c.fleetId } })),
    ...c.retired.map((hostId) => ({ actor, action: 'host.retired', hostId, details: { fleet: c.fleetId } })),
  ];
}
