/**
 * `release apply FILE [--dry-run]`, `release list`, `release withdraw VERSION --reason`:
 * the release catalog, as the vendor's releases file states it (core/release-file.ts).
 */
import { Reason, Version } from '../../core/models';
import type { Release, ReleaseChanges, ReleaseStore } from '../../core/registry/store';
import { ReleaseNotFoundError } from '../../core/registry/errors';
import { applyReleaseCatalog, upgradeTarget } from '../../core/release-catalog';
import { parseReleasesFile } from '../../core/release-file';
import { operatorActor } from '../actor';
import { readOperatorFile } from '../files';
import { CliError, EXIT, print, printJson, table } from '../output';
import { checkOption } from './host';

/** The release an upgrade asked for on the command line; unknown or withdrawn: bad input (exit 2). */
export async function targetRelease(store: Pick<ReleaseStore, 'getRelease'>, version: string, option = '--version'): Promise<Release> {
  return upgradeTarget(store, version).catch((err: Error) => {
    throw new CliError(`${option}: ${err.message}`, EXIT.invalidInput);
  });
}

const list = (versions: string[]) => (versions.length === 0 ? '' : `: ${versions.join(', ')}`);

export function describeReleaseChanges(c: ReleaseChanges): string {
  return [
    `  added         ${c.added.length}${list(c.added)}`,
    `  changed       ${c.changed.length}${list(c.changed.map((x) => `${x.version} (${x.fields.join(', ')})`))}`,
    `  withdrawn     ${c.withdrawn.length}${list(c.withdrawn.map((x) => `${x.version} (${x.reason})`))}`,
    `  unchanged     ${c.unchanged.length}`,
    ...(c.stayWithdrawn.length ? [`  stay withdrawn ${c.stayWithdrawn.length}${list(c.stayWithdrawn)} (withdrawn in the registry; applying a file never brings a release back)`] : []),
    ...(c.notInFile.length ? [`  not in file   ${c.notInFile.length}${list(c.notInFile)} (kept: runs and backups name them)`] : []),
  ].join('\n');
}

export async function releaseApply(store: ReleaseStore, opts: { file: string; dryRun?: boolean; json?: boolean }): Promise<number> {
  const file = readOperatorFile(opts.file, parseReleasesFile);
  const changes = await applyReleaseCatalog(store, file, { actor: operatorActor(), dryRun: opts.dryRun });
  if (opts.json) printJson({ file: opts.file, dryRun: Boolean(opts.dryRun), ...changes });
  else print(`${opts.file}: ${file.releases.length} release(s)${opts.dryRun ? ' (dry run, nothing written)' : ''}\n${describeReleaseChanges(changes)}`);
  return EXIT.ok;
}

export async function releaseList(store: ReleaseStore, opts: { json?: boolean }): Promise<number> {
  const releases = await store.listReleases();
  if (opts.json) {
    printJson(releases.map((r) => ({ ...r, withdrawn: r.withdrawnAt !== null })));
    return EXIT.ok;
  }
  print(
    table(
      releases.map((r) => ({
        version: r.version,
        destructive: r.destructive ? 'yes' : 'no',
        requires: r.requires.join(', ') || '-',
        status: r.withdrawnAt === null ? 'available' : `WITHDRAWN: ${r.withdrawnReason}`,
        notes: [r.notes, r.link].filter(Boolean).join(' ') || '-',
      })),
    ),
  );
  return EXIT.ok;
}

export async function releaseWithdraw(store: ReleaseStore, opts: { version: string; reason?: string; json?: boolean }): Promise<number> {
  const version = checkOption(Version, opts.version, 'VERSION');
  if (opts.reason === undefined) throw new CliError('--reason: say why the release is withdrawn (it is shown to whoever tries to upgrade to it)', EXIT.invalidInput);
  const reason = checkOption(Reason, opts.reason, '--reason');
  const { release, changed } = await store.withdrawRelease(version, reason, operatorActor()).catch((err: Error) => {
    if (err instanceof ReleaseNotFoundError) throw new CliError(`VERSION: ${err.message} (fleetwave release list)`, EXIT.invalidInput);
    throw err;
  });
  if (opts.json) printJson({ ...release, changed });
  else if (changed) print(`${release.version} withdrawn: new upgrades to it are refused, and compliance flags the hosts that run it`);
  else print(`${release.version} was already withdrawn (${release.withdrawnReason}); nothing changed`);
  return EXIT.ok;
}
