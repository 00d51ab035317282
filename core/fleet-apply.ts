/**
 * `fleet apply`: the fleet file is the fleet. Applying it registers the
 * fleet's settings and its hosts as the file lists them, and retires the hosts
 * it no longer lists (their history stays; nothing runs on them). A dry run
 * says what would change and shows the waves a rollout would run. The CLI and
 * the lab both come here; the write is one transaction in the fleet store.
 */
import { FleetFileError, type FleetFile } from './fleet-file';
import { FleetApplyRefusedError } from './registry/errors';
import { planFleetChanges } from './registry/fleets/changes';
import { UpsertFleetInput, UpsertHostInput, type FleetChanges, type FleetProblem, type RegistryStore } from './registry/store';
import { upgradeTarget } from './release-catalog';
import { DEFAULT_WAVES, planWaves } from './waves';

/** How many host ids of each wave a plan shows. */
export const FIRST_HOSTS = 5;

export interface WaveSummary {
  index: number;
  name: string;
  tier: string;
  hosts: number;
  /** The wave fails once more than this many of its hosts failed. */
  maxFailures: number;
  firstHosts: string[];
}

export interface FleetApplyResult {
  dryRun: boolean;
  changes: FleetChanges;
  waves: WaveSummary[];
}

export type FleetApplyStore = Pick<RegistryStore, 'applyFleet' | 'getFleet' | 'listHosts' | 'getLease' | 'getRelease'>;

/** The waves a rollout of this fleet would run, as numbers. */
export function waveSummary(file: FleetFile): WaveSummary[] {
  return planWaves(file.fleet, file.hosts.map((h) => ({ id: h.id, tier: h.tier, wave: h.wave })), file.waves ?? DEFAULT_WAVES).map((w) => ({
    index: w.index,
    name: w.name,
    tier: w.tier,
    hosts: w.hostIds.length,
    maxFailures: w.maxFailures,
    firstHosts: w.hostIds.slice(0, FIRST_HOSTS),
  }));
}

/** The fleet store's input for a fleet file: the fleet's settings (fleets.config) and its hosts. */
export function fleetInput(file: FleetFile, desiredVersion: string | undefined): { fleet: UpsertFleetInput; hosts: UpsertHostInput[] } {
  const { hosts, fleet: id, appProfile, desiredVersion: _asked, ...config } = file;
  return {
    fleet: { id, appProfile, desiredVersion, config },
    hosts: hosts.map((h) => ({ id: h.id, fleetId: id, instanceId: h.instanceId, tier: h.tier, databaseMode: h.databaseMode, composeDir: h.composeDir, healthUrl: h.healthUrl, wave: h.wave ?? null })),
  };
}

/** A store refusal as the fleet file's fields: `hosts[3].instanceId: ...`. */
function asFileProblems(file: FleetFile, problems: FleetProblem[]): string[] {
  const index = new Map(file.hosts.map((h, i) => [h.id, i]));
  return problems.map((p) => {
    const i = index.get(p.hostId);
    return i === undefined ? `hosts: ${p.message}` : `hosts[${i}].${p.field ?? 'id'}: ${p.message}`;
  });
}

async function dryRunChanges(store: FleetApplyStore, input: ReturnType<typeof fleetInput>): Promise<{ changes: FleetChanges; problems: FleetProblem[] }> {
  const fleetId = input.fleet.id;
  const fleet = await store.getFleet(fleetId).catch((err: Error) => {
    if (err.name === 'FleetNotFoundError') return null;
    throw err;
  });
  const hosts = await store.listHosts({ includeRetired: true });
  const listed = new Set(input.hosts.map((h) => h.id));
  const leases = new Map<string, { holder: string; expiresAt: number }>();
  for (const h of hosts) {
    if (h.fleetId !== fleetId || h.retiredAt !== null || listed.has(h.id)) continue;
    const lease = await store.getLease(h.id);
    if (lease && !lease.expired) leases.set(h.id, { holder: lease.holder, expiresAt: lease.expiresAt });
  }
  const plan = planFleetChanges({ fleet, hosts, leases }, UpsertFleetInput.parse(input.fleet), input.hosts.map((h) => UpsertHostInput.parse(h)));
  return { changes: plan.changes, problems: plan.problems };
}

/**
 * Apply (or, with dryRun, plan) a checked fleet file. `file` names it in errors.
 * @throws FleetFileError naming each field the registry refuses (another fleet's host or instance,
 *         a host to retire while a run holds its lease, a desired version not in the catalog)
 */
export async function applyFleetFile(store: FleetApplyStore, fleetFile: FleetFile, opts: { actor: string; dryRun?: boolean; file?: string }): Promise<FleetApplyResult> {
  const label = opts.file ?? 'fleet file';
  let desiredVersion: string | undefined;
  if (fleetFile.desiredVersion !== undefined) {
    desiredVersion = (await upgradeTarget(store, fleetFile.desiredVersion).catch((err: Error) => {
      throw new FleetFileError([`desiredVersion: ${err.message}`], label);
    })).version;
  }
  const input = fleetInput(fleetFile, desiredVersion);
  const waves = waveSummary(fleetFile);
  if (opts.dryRun) {
    const { changes, problems } = await dryRunChanges(store, input);
    if (problems.length > 0) throw new FleetFileError(asFileProblems(fleetFile, problems), label);
    return { dryRun: true, changes, waves };
  }
  try {
    return { dryRun: false, changes: await store.applyFleet({ ...input, actor: opts.actor }), waves };
  } catch (err) {
    if (err instanceof FleetApplyRefusedError) throw new FleetFileError(asFileProblems(fleetFile, err.problems), label);
    throw err;
  }
}
