/**
 * Simulated fleets for the lab: Semaphor hosts on this machine, each with an
 * SSM agent registered, and the fleet registered through the product's own
 * `fleet apply` (core/fleet-apply.ts) from a fleet file the lab keeps per
 * fleet, as an operator keeps theirs: checked like any fleet file, the
 * instance collision check and the audit entry included. The registry is
 * never written directly, and a host's observed version starts unknown, as a
 * real host's does until its first preflight or compliance check reads it.
 * The release catalog comes the same way: the vendor's releases file, applied
 * with `release apply`'s function.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { applyFleetFile } from '../core/fleet-apply';
import { FleetFile, FleetFileError, type FleetHost } from '../core/fleet-file';
import { describeIssues } from '../core/input-file';
import type { DatabaseMode, Tier } from '../core/models';
import { applyReleaseCatalog } from '../core/release-catalog';
import { parseReleasesFile } from '../core/release-file';
import { createHost, destroyHost, hostEnv, reserveHostPort, setFaults, stopHost, type LabHost } from './hosts';
import { hostAwsEnv, startHostCredentials } from './hosts/credentials';
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

/** Who the lab's own registrations are audited as. */
export const LAB_ACTOR = 'lab';

/** The vendor's releases file for Semaphor, shipped with the product. */
export const SEMAPHOR_RELEASES_FILE = new URL('../releases/semaphor.json', import.meta.url);

/** Register the vendor's releases as an operator would: `fleetwave release apply releases/semaphor.json`. */
export async function registerLabReleases(lab: Pick<Lab, 'store'>): Promise<void> {
  const file = parseReleasesFile(readFileSync(SEMAPHOR_RELEASES_FILE, 'utf8'), 'releases/semaphor.json');
  await applyReleaseCatalog(lab.store, file, { actor: LAB_ACTOR });
}

/**
 * A fleet file's settings (everything but the fleet's name and hosts), as the
 * file would state them: waves, concurrency, failurePolicy, healthCheck, ...
 * Checked like a fleet file when applied, so loosely typed here.
 */
export type LabFleetSettings = Record<string, unknown>;

/** The fleet files the lab keeps, per lab and fleet: adding hosts to a fleet adds them to its file. */
const fleetFiles = new WeakMap<Lab, Map<string, { hosts: z.input<typeof FleetHost>[]; settings: LabFleetSettings }>>();

/**
 * Apply the lab's fleet file for `fleetId` with `settings` (default: the ones
 * it had; at first a quick health check), through `fleet apply`'s function.
 * @throws FleetFileError naming the field, as `fleetwave fleet apply` would
 */
export async function applyLabFleet(lab: Lab, fleetId: string, settings?: LabFleetSettings, hosts?: z.input<typeof FleetHost>[]): Promise<void> {
  const files = fleetFiles.get(lab) ?? new Map();
  fleetFiles.set(lab, files);
  const before = files.get(fleetId);
  // simulated hosts start in about a second: a shorter health check keeps the lab quick
  const now = { hosts: hosts ?? before?.hosts ?? [], settings: settings ? { healthCheck: LAB_HEALTH_CHECK, ...settings } : (before?.settings ?? { healthCheck: LAB_HEALTH_CHECK }) };
  const parsed = FleetFile.safeParse({ fleet: fleetId, hosts: now.hosts, ...now.settings });
  if (!parsed.success) throw new FleetFileError(describeIssues(parsed.error.issues), `the lab's fleet file for ${fleetId}`);
  await applyFleetFile(lab.store, parsed.data, { actor: LAB_ACTOR, file: `the lab's fleet file for ${fleetId}` });
  files.set(fleetId, now);
}

/** A managed-instance id derived from the host id, stable across lab runs. */
export function labInstanceId(hostId: string): string {
  return `mi-${createHash('sha256').update(hostId).digest('hex').slice(0, 17)}`;
}

function adminUrlOf(databaseUrl: string): string {
  const u = new URL(databaseUrl);
  u.pathname = '/postgres';
  return u.toString();
}

/** A lab host as its fleet file lists it. */
export const fleetFileEntry = (h: LabFleetHost): z.input<typeof FleetHost> => ({
  id: h.id,
  instanceId: h.instanceId,
  tier: h.tier,
  databaseMode: h.mode,
  composeDir: h.composeDir,
  healthUrl: h.healthUrl,
});

/**
 * Start simulated hosts, each with its SSM agent registered (a hybrid
 * activation's managed instance); the registry knows nothing of them until a
 * fleet file lists them.
 */
export async function startLabHosts(lab: Lab, specs: LabHostSpec[]): Promise<LabFleetHost[]> {
  const adminDatabaseUrl = adminUrlOf(lab.adminDatabaseUrl);
  // hosts start in parallel: each seeds data and waits for its app to be healthy
  const made = await Promise.all(
    specs.map(async (spec) => {
      const host = await createHost({
        root: join(lab.dir, 'hosts', spec.id),
        hostId: spec.id,
        mode: spec.mode,
        version: spec.version,
        port: await reserveHostPort(),
        adminDatabaseUrl,
        composeFlavor: spec.composeFlavor,
      });
      if (spec.faults) await setFaults(host.root, spec.faults);
      return { spec, host };
    }),
  );
  const hosts: LabFleetHost[] = [];
  for (const { spec, host } of made) {
    const instanceId = labInstanceId(spec.id);
    // the node's own role session, kept fresh as SSM Agent keeps it (lab/hosts/credentials.ts)
    startHostCredentials({ root: host.root, hostId: spec.id, instanceId, sts: lab.sts, clock: lab.clock });
    const env = { ...(await hostEnv(host.root)), ...hostAwsEnv(host.root, lab.s3.endpoint) };
    lab.ssm.registerInstance({ instanceId, hostRoot: host.root, env, computerName: spec.id });
    hosts.push({ ...host, id: spec.id, instanceId, tier: spec.tier });
  }
  return hosts;
}

/**
 * Start simulated hosts and add them to fleet `fleetId` (its other hosts stay),
 * registered with `fleet apply`'s function; `settings` replaces the fleet's
 * settings when given.
 */
export async function createLabFleet(lab: Lab, fleetId: string, specs: LabHostSpec[], settings?: LabFleetSettings): Promise<LabFleetHost[]> {
  const hosts = await startLabHosts(lab, specs);
  const listed = fleetFiles.get(lab)?.get(fleetId)?.hosts ?? [];
  const ids = new Set(hosts.map((h) => h.id));
  await applyLabFleet(lab, fleetId, settings, [...listed.filter((h) => !ids.has(h.id)), ...hosts.map(fleetFileEntry)]);
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
