/**
 * `fleet apply FILE [--dry-run]`: register a fleet and its hosts.
 */
import { parseFleetFile, type FleetFile } from '../../core/fleet-file';
import type { RegistryStore } from '../../core/registry/store';
import { readOperatorFile } from '../files';
import { CliError, EXIT, print, printJson, table } from '../output';

export const readFleetFile = (path: string): FleetFile => readOperatorFile(path, parseFleetFile);

export async function fleetApply(store: RegistryStore | null, opts: { file: string; dryRun?: boolean; json?: boolean }): Promise<number> {
  const fleet = readFleetFile(opts.file);
  const hosts = fleet.hosts.map((h) => ({ host: h.id, tier: h.tier, mode: h.databaseMode, instance: h.instanceId, wave: h.wave ?? 'auto' }));
  if (opts.dryRun || !store) {
    if (opts.json) printJson({ fleet: fleet.fleet, dryRun: true, hosts });
    else print(`${fleet.fleet}: ${fleet.hosts.length} host(s) would be registered (dry run, nothing written)\n${table(hosts)}`);
    return EXIT.ok;
  }
  // instance ids may not move between hosts of other fleets silently
  for (const h of fleet.hosts) {
    const existing = (await store.listHosts()).find((x) => x.instanceId === h.instanceId && x.id !== h.id);
    if (existing) throw new CliError(`hosts.${h.id}.instanceId: ${h.instanceId} already belongs to host ${existing.id}`, EXIT.invalidInput);
  }
  const { hosts: _hosts, fleet: id, appProfile, desiredVersion, ...config } = fleet;
  await store.upsertFleet({ id, appProfile, desiredVersion, config });
  for (const h of fleet.hosts) {
    await store.upsertHost({ id: h.id, fleetId: id, instanceId: h.instanceId, tier: h.tier, databaseMode: h.databaseMode, composeDir: h.composeDir, healthUrl: h.healthUrl, wave: h.wave ?? null });
  }
  await store.appendAudit({ actor: `cli:${process.env.USER ?? 'operator'}`, action: 'fleet.applied', details: { fleet: id, hosts: fleet.hosts.length } });
  if (opts.json) printJson({ fleet: id, hosts });
  else print(`${id}: ${fleet.hosts.length} host(s) registered`);
  return EXIT.ok;
}
