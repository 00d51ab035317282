/**
 * Simulated fleets for the lab: Semaphor hosts on this machine, each with an
 * SSM agent registered, and the fleet registered in the registry exactly as
 * `fleetwave fleet apply` would.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { DatabaseMode, Tier } from '../core/models';
import { freePort } from './postgres';
import { createHost, destroyHost, hostEnv, setFaults, stopHost, type LabHost } from './hosts';
import type { Faults } from './hosts/state';
import type { Lab } from './lab';

export interface LabHostSpec {
  id: string;
  tier: Tier;
  mode: DatabaseMode;
  version: string;
  composeFlavor?: 'v1' | 'v2';
  faults?: Faults;
}

export interface LabFleetHost extends LabHost {
  id: string;
  instanceId: string;
  tier: Tier;
}

export const LAB_HEALTH_CHECK = { passes: 2, intervalSeconds: 1, timeoutSeconds: 60 };

/** A managed-instance id derived from the host id, stable across lab runs. */
export function labInstanceId(hostId: string): string {
  return `mi-${createHash('sha256').update(hostId).digest('hex').slice(0, 17)}`;
}

function adminUrlOf(databaseUrl: string): string {
  const u = new URL(databaseUrl);
  u.pathname = '/postgres';
  return u.toString();
}

export async function createLabFleet(lab: Lab, fleetId: string, specs: LabHostSpec[]): Promise<LabFleetHost[]> {
  const hosts: LabFleetHost[] = [];
  const adminDatabaseUrl = adminUrlOf(lab.adminDatabaseUrl);
  // hosts start in parallel: each seeds data and waits for its app to be healthy
  const made = await Promise.all(
    specs.map(async (spec) => {
      const host = await createHost({
        root: join(lab.dir, 'hosts', spec.id),
        hostId: spec.id,
        mode: spec.mode,
        version: spec.version,
        port: await freePort(),
        adminDatabaseUrl,
        composeFlavor: spec.composeFlavor,
      });
      if (spec.faults) await setFaults(host.root, spec.faults);
      return { spec, host };
    }),
  );
  // simulated hosts start in about a second: a shorter health check keeps the lab quick
  await lab.store.upsertFleet({ id: fleetId, config: { lab: true, healthCheck: LAB_HEALTH_CHECK } });
  for (const { spec, host } of made) {
    const instanceId = labInstanceId(spec.id);
    lab.ssm.registerInstance({ instanceId, hostRoot: host.root, env: await hostEnv(host.root), computerName: spec.id });
    await lab.store.upsertHost({
      id: spec.id,
      fleetId,
      instanceId,
      tier: spec.tier,
      databaseMode: spec.mode,
      composeDir: host.composeDir,
      healthUrl: host.healthUrl,
    });
    await lab.store.recordObservedVersion(spec.id, spec.version);
    hosts.push({ ...host, id: spec.id, instanceId, tier: spec.tier });
  }
  return hosts;
}

export async function stopLabFleet(hosts: LabFleetHost[], lab?: Lab): Promise<void> {
  await Promise.all(
    hosts.map(async (h) => {
      await stopHost(h.root).catch(() => undefined);
      if (lab) await destroyHost(h, adminUrlOf(lab.adminDatabaseUrl)).catch(() => undefined);
    }),
  );
}
