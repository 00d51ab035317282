/**
 * Release rules: which version jumps the catalog allows. Pure functions; the
 * registry supplies the catalog.
 */
export interface ReleaseInfo {
  version: string;
  destructive: boolean;
  /** Versions a host must already run (or have passed) before jumping past this release. */
  requires: string[];
}

export type PathDecision =
  | { kind: 'noop' }
  | { kind: 'proceed'; destructive: boolean; crossed: string[] }
  | { kind: 'refused'; reason: string };

const parse = (v: string): { core: number[]; pre: string | null } => {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-(.+))?$/.exec(v);
  if (!m) throw new Error(`not a release version: ${JSON.stringify(v)}`);
  return { core: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] ?? null };
};

/** Semver order; a pre-release sorts before its release; `v1.2.3` equals `1.2.3`. */
export function compareVersions(a: string, b: string): number {
  const pa = parse(a);
  const pb = parse(b);
  for (let i = 0; i < 3; i++) {
    const d = pa.core[i]! - pb.core[i]!;
    if (d !== 0) return Math.sign(d);
  }
  if (pa.pre === pb.pre) return 0;
  if (pa.pre === null) return 1;
  if (pb.pre === null) return -1;
  return pa.pre < pb.pre ? -1 : 1;
}

/**
 * Decide whether a host on `from` may go straight to `to`.
 * - `to` must be in the catalog (unknown versions are refused before this);
 * - same version: noop (only verified);
 * - going down is a rollback, never an upgrade (newer schema, older code);
 * - every release crossed in (from, to] must have its required versions at or below `from`;
 * - `destructive` is true when any crossed release is destructive: the caller
 *   demands explicit consent.
 * A host whose version is unknown (`from` null) may only go to a release with no requirements.
 */
export function decideUpgradePath(from: string | null, to: string, catalog: ReleaseInfo[]): PathDecision {
  const target = catalog.find((r) => compareVersions(r.version, to) === 0);
  if (!target) return { kind: 'refused', reason: `version ${to} is not in the release catalog` };
  if (from === null) {
    if (target.requires.length > 0) {
      return { kind: 'refused', reason: `the host's current version is unknown and ${to} requires ${target.requires.join(', ')} first` };
    }
    return { kind: 'proceed', destructive: target.destructive, crossed: [target.version] };
  }
  const order = compareVersions(to, from);
  if (order === 0) return { kind: 'noop' };
  if (order < 0) {
    return { kind: 'refused', reason: `${to} is older than the running ${from}: use a rollback (rollback --host H --to-version ${to}), not an upgrade` };
  }
  const crossed = catalog
    .filter((r) => compareVersions(r.version, from) > 0 && compareVersions(r.version, to) <= 0)
    .sort((a, b) => compareVersions(a.version, b.version));
  for (const r of crossed) {
    const missing = r.requires.filter((q) => compareVersions(q, from) > 0);
    if (missing.length > 0) {
      return {
        kind: 'refused',
        reason: `${from} → ${to} crosses ${r.version}, which requires ${missing.join(', ')} first: upgrade to ${missing[0]} before ${to}`,
      };
    }
  }
  return { kind: 'proceed', destructive: crossed.some((r) => r.destructive), crossed: crossed.map((r) => r.version) };
}
