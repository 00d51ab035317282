/**
 * `lab up` on a kept lab: the hosts the registry knows, whose folders are
 * still there, are booted again (their machines were off while the lab was
 * down) and their SSM agents registered again, exactly as they were: same
 * instance ids, same ports, same data. Nothing is written to the registry.
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LabFleetHost } from './fleet';
import { bootHost, hostEnv } from './hosts';
import { hostAwsEnv, startHostCredentials } from './hosts/credentials';
import type { Lab } from './lab';

/** The fleet's kept hosts, running again; null when the registry or the folders hold none (a new lab). */
export async function resumeLabFleet(lab: Lab, fleetId: string): Promise<LabFleetHost[] | null> {
  const fleets = await lab.store.listFleets();
  if (!fleets.some((f) => f.id === fleetId)) return null;
  const hosts = await lab.store.listHosts({ fleetId });
  if (hosts.length === 0 || !hosts.every((h) => existsSync(h.composeDir))) return null;
  return Promise.all(
    hosts.map(async (h) => {
      const root = dirname(h.composeDir);
      await bootHost(root, h.id, h.healthUrl);
      startHostCredentials({ root, hostId: h.id, instanceId: h.instanceId, sts: lab.sts, clock: lab.clock });
      const env = { ...(await hostEnv(root)), ...hostAwsEnv(root, lab.s3.endpoint) };
      lab.ssm.registerInstance({ instanceId: h.instanceId, hostRoot: root, env, computerName: h.id });
      return {
        id: h.id,
        instanceId: h.instanceId,
        tier: h.tier,
        root,
        hostId: h.id,
        mode: h.databaseMode,
        composeDir: h.composeDir,
        healthUrl: h.healthUrl,
        port: Number(new URL(h.healthUrl).port),
        databaseName: null,
      };
    }),
  );
}
