/**
 * `fleet apply FILE [--dry-run]`: the fleet file is the fleet (core/fleet-apply.ts).
 * Prints what changed (or would: added, changed, retired, reinstated) and the
 * waves a rollout would run, never one row per host.
 */
import { applyFleetFile, type FleetApplyResult, type FleetApplyStore } from '../../core/fleet-apply';
import { parseFleetFile, type FleetFile } from '../../core/fleet-file';
import { operatorActor } from '../actor';
import { readOperatorFile } from '../files';
import { CliError, EXIT, print, printJson, table } from '../output';

export const readFleetFile = (path: string): FleetFile => readOperatorFile(path, parseFleetFile);

/** At most this many ids on a line; the JSON has them all. */
const SHOWN = 10;
const ids = (list: string[]) => (list.length <= SHOWN ? list.join(', ') : `${list.slice(0, SHOWN).join(', ')} and ${list.length - SHOWN} more`);

export function describeFleetApply(r: FleetApplyResult): string {
  const c = r.changes;
  const head =
    `${c.fleetId}: ${c.fleet === 'created' ? 'new fleet, ' : ''}${c.added.length} added, ${c.changed.length} changed, ` +
    `${c.retired.length} retired, ${c.reinstated.length} reinstated, ${c.unchanged} unchanged` +
    (r.dryRun ? ' (dry run, nothing written)' : '');
  const lines = [head];
  if (c.settings.length > 0) lines.push(`  settings    ${c.settings.join(', ')}`);
  if (c.added.length > 0) lines.push(`  added       ${ids(c.added)}`);
  if (c.changed.length > 0) lines.push(`  changed     ${ids(c.changed.map((x) => `${x.hostId} (${x.fields.join(', ')})`))}`);
  if (c.retired.length > 0) lines.push(`  retired     ${ids(c.retired)} (history kept; no rollout or compliance check touches them)`);
  if (c.reinstated.length > 0) lines.push(`  reinstated  ${ids(c.reinstated)}`);
  lines.push(`\nwaves a rollout would run (${r.waves.length}):`);
  lines.push(
    table(
      r.waves.map((w) => ({
        wave: w.index,
        name: w.name,
        tier: w.tier,
        hosts: w.hosts,
        'max failures': w.maxFailures,
        'first hosts': `${w.firstHosts.join(', ')}${w.hosts > w.firstHosts.length ? ', …' : ''}`,
      })),
    ),
  );
  return lines.join('\n');
}

export async function fleetApply(store: FleetApplyStore, opts: { file: string; dryRun?: boolean; json?: boolean }): Promise<number> {
  const file = readFleetFile(opts.file);
  const result = await applyFleetFile(store, file, { actor: operatorActor(), dryRun: opts.dryRun, file: opts.file }).catch((err: Error) => {
    if (err.name === 'FleetFileError') throw new CliError(err.message, EXIT.invalidInput);
    throw err;
  });
  if (opts.json) printJson({ fleet: result.changes.fleetId, ...result });
  else print(describeFleetApply(result));
  return EXIT.ok;
}
