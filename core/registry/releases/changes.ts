/**
 * What applying a release catalog changes, decided once for both adapters and
 * for `release apply --dry-run`: pure, from the registered releases and the
 * releases given. Versions compare without their `v`.
 */
import { canonicalVersion, sameVersion } from '../../models';
import { InvalidRegistryInputError } from '../errors';
import type { Release, ReleaseChanges, ReleaseSpec } from './release-store';

export interface ReleasePlan {
  changes: ReleaseChanges;
  add: ReleaseSpec[];
  change: { version: string; spec: ReleaseSpec; fields: string[] }[];
  withdraw: { version: string; reason: string }[];
}

const sameList = (a: string[], b: string[]) => {
  const x = [...new Set(a.map(canonicalVersion))].sort();
  const y = [...new Set(b.map(canonicalVersion))].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

/** The fields of `spec` that differ from the registered release. */
export function changedFields(r: Release, spec: ReleaseSpec): string[] {
  const fields: string[] = [];
  if (r.destructive !== spec.destructive) fields.push('destructive');
  if (!sameList(r.requires, spec.requires)) fields.push('requires');
  if (r.notes !== spec.notes) fields.push('notes');
  if (r.link !== (spec.link ?? null)) fields.push('link');
  return fields;
}

/** @throws InvalidRegistryInputError when two specs are one release, or a release requires one that is neither given nor registered */
export function planReleaseChanges(registered: Release[], specs: ReleaseSpec[]): ReleasePlan {
  const byVersion = new Map(registered.map((r) => [canonicalVersion(r.version), r]));
  const given = new Map<string, ReleaseSpec>();
  for (const s of specs) {
    const key = canonicalVersion(s.version);
    if (given.has(key)) throw new InvalidRegistryInputError(`release ${s.version} is given twice (${given.get(key)!.version} and ${s.version} are one release)`);
    given.set(key, s);
  }
  for (const s of specs) {
    for (const q of s.requires) {
      if (sameVersion(q, s.version)) throw new InvalidRegistryInputError(`release ${s.version} cannot require itself`);
      if (!given.has(canonicalVersion(q)) && !byVersion.has(canonicalVersion(q))) {
        throw new InvalidRegistryInputError(`release ${s.version} requires ${q}, which is not in the catalog`);
      }
    }
  }
  const plan: ReleasePlan = {
    changes: { added: [], changed: [], withdrawn: [], unchanged: [], stayWithdrawn: [], notInFile: [] },
    add: [],
    change: [],
    withdraw: [],
  };
  for (const s of specs) {
    const r = byVersion.get(canonicalVersion(s.version));
    if (!r) {
      plan.add.push(s);
      plan.changes.added.push(s.version);
      if (s.withdrawn) {
        plan.withdraw.push({ version: s.version, reason: s.withdrawn.reason });
        plan.changes.withdrawn.push({ version: s.version, reason: s.withdrawn.reason });
      }
      continue;
    }
    const fields = changedFields(r, s);
    if (fields.length > 0) {
      plan.change.push({ version: r.version, spec: s, fields });
      plan.changes.changed.push({ version: r.version, fields });
    }
    if (s.withdrawn && r.withdrawnAt === null) {
      plan.withdraw.push({ version: r.version, reason: s.withdrawn.reason });
      plan.changes.withdrawn.push({ version: r.version, reason: s.withdrawn.reason });
    } else if (!s.withdrawn && r.withdrawnAt !== null) {
      plan.changes.stayWithdrawn.push(r.version);
    }
    if (fields.length === 0 && !(s.withdrawn && r.withdrawnAt === null)) plan.changes.unchanged.push(r.version);
  }
  for (const r of registered) if (!given.has(canonicalVersion(r.version))) plan.changes.notInFile.push(r.version);
  return plan;
}
