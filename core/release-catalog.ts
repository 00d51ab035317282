/**
 * The release catalog as the product uses it: registering the vendor's
 * releases file (what `fleetwave release apply` and the lab call), and the
 * one rule every upgrade path asks before it starts: the version must be a
 * registered release the vendor has not withdrawn. Callers go on with the
 * release's own spelling of the version (`v1.5.0` asked, `1.5.0` pulled).
 */
import { ReleaseWithdrawnError, UnknownReleaseError } from './host-run/errors';
import { planReleaseChanges } from './registry/releases/changes';
import type { Release, ReleaseChanges, ReleaseStore } from './registry/releases/release-store';
// Types only: the Lambdas that import this module carry no YAML parser.
import type { ReleasesFile } from './release-file';

/** Register a releases file (dry run: say what it would change, write nothing). */
export async function applyReleaseCatalog(
  store: Pick<ReleaseStore, 'applyReleases' | 'listReleases'>,
  file: ReleasesFile,
  opts: { actor: string; dryRun?: boolean },
): Promise<ReleaseChanges> {
  if (opts.dryRun) return planReleaseChanges(await store.listReleases(), file.releases).changes;
  return store.applyReleases({ releases: file.releases, actor: opts.actor });
}

/** The release an upgrade to `version` goes to. @throws UnknownReleaseError, ReleaseWithdrawnError */
export async function upgradeTarget(store: Pick<ReleaseStore, 'getRelease'>, version: string): Promise<Release> {
  const release = await store.getRelease(version);
  if (!release) throw new UnknownReleaseError(`version ${version} is not in the release catalog (fleetwave release list; fleetwave release apply FILE registers the vendor's releases)`);
  if (release.withdrawnAt !== null) throw new ReleaseWithdrawnError(`release ${release.version} was withdrawn: ${release.withdrawnReason ?? 'no reason given'}`);
  return release;
}
