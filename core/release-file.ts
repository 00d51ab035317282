/**
 * The releases file: the release catalog as the vendor publishes it, one
 * entry per release (version, destructive, requires, notes or a link, and
 * withdrawn with its reason). `fleetwave release apply FILE` registers it;
 * the product ships the vendor's file for Semaphor as releases/semaphor.json.
 *
 * ```yaml
 * releases:
 *   - { version: 1.5.0, notes: adds users.last_login }
 *   - { version: 1.6.0, destructive: true, link: https://example.com/notes/1.6.0 }
 *   - { version: 2.0.0, requires: [1.6.0] }
 *   - { version: 1.6.1, withdrawn: { reason: schema sync fails on large tables } }
 * ```
 *
 * The file is the whole catalog: a release may require only another release
 * of the same file, and only an older one.
 */
import { z } from 'zod';
import { InputFileError, parseInputFile } from './input-file';
import { canonicalVersion } from './models';
import { ReleaseSpec } from './registry/releases/release-store';
import { compareVersions } from './release-rules';

export const ReleasesFile = z
  .object({ releases: z.array(ReleaseSpec).min(1, { message: 'must list at least one release' }).max(10_000) })
  .strict()
  .superRefine((f, ctx) => {
    const seen = new Map<string, number>();
    f.releases.forEach((r, i) => {
      const key = canonicalVersion(r.version);
      if (seen.has(key)) {
        const j = seen.get(key)!;
        ctx.addIssue({ code: 'custom', path: ['releases', i, 'version'], message: `${r.version} is already releases[${j}] (${f.releases[j]!.version}): v1.5.0 and 1.5.0 are one release` });
      } else seen.set(key, i);
    });
    f.releases.forEach((r, i) => {
      r.requires.forEach((q, k) => {
        const path = ['releases', i, 'requires', k];
        if (!seen.has(canonicalVersion(q))) ctx.addIssue({ code: 'custom', path, message: `${q} is not a release in this file` });
        else if (compareVersions(q, r.version) >= 0) ctx.addIssue({ code: 'custom', path, message: `${r.version} can only require an older release, and ${q} is not older` });
      });
    });
  });
export type ReleasesFile = z.output<typeof ReleasesFile>;

export class ReleasesFileError extends InputFileError {
  override name = 'ReleasesFileError';
}

/** Parse and check a releases file (YAML or JSON); throws ReleasesFileError naming every bad field. */
export function parseReleasesFile(text: string, file = 'releases file'): ReleasesFile {
  return parseInputFile(ReleasesFile, text, (problems) => new ReleasesFileError(problems, file));
}
