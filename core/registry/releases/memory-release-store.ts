/** `ReleaseStore` in memory, for unit tests; behaves like PgReleaseStore (contract: test/registry/contract). */
import { canonicalVersion, Reason, sameVersion, Version } from '../../models';
import type { AuditStore } from '../audit/audit-store';
import { InMemoryAuditStore } from '../audit/memory-audit-store';
import { InvalidRegistryInputError, ReleaseNotFoundError } from '../errors';
import { Actor, parse } from '../fields';
import { planReleaseChanges } from './changes';
import { ApplyReleasesInput, UpsertReleaseInput, type Release, type ReleaseChanges, type ReleaseStore } from './release-store';

/** 1.10.0 after 1.9.0: the numeric x.y.z core first, then the whole tag (PgReleaseStore's ORDER BY). */
function byVersion(a: Release, b: Release): number {
  const core = (v: string) => (/^v?([0-9.]+)/.exec(v)?.[1] ?? '').split('.').map(Number);
  const [x, y] = [core(a.version), core(b.version)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d !== 0) return d;
  }
  return a.version < b.version ? -1 : a.version > b.version ? 1 : 0;
}

export class InMemoryReleaseStore implements ReleaseStore {
  /** Keyed by the version without its `v`, like PgReleaseStore's unique index. */
  readonly #releases = new Map<string, Release>();
  readonly #audit: AuditStore;
  readonly #now: () => number;

  /** `audit` receives the catalog's changes, as PgReleaseStore writes them to audit_log. */
  constructor(options: { audit?: AuditStore; now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#audit = options.audit ?? new InMemoryAuditStore(options);
  }

  #put(r: Omit<Release, 'createdAt' | 'updatedAt' | 'withdrawnAt' | 'withdrawnReason'>): Release {
    const key = canonicalVersion(r.version);
    const before = this.#releases.get(key);
    const same =
      before && before.destructive === r.destructive && JSON.stringify(before.requires) === JSON.stringify(r.requires) && before.notes === r.notes && before.link === r.link;
    const now = this.#now();
    const release: Release = {
      ...r,
      version: before?.version ?? r.version,
      requires: [...r.requires],
      withdrawnAt: before?.withdrawnAt ?? null,
      withdrawnReason: before?.withdrawnReason ?? null,
      createdAt: before?.createdAt ?? now,
      updatedAt: same ? before.updatedAt : now,
    };
    this.#releases.set(key, release);
    return release;
  }

  #withdraw(version: string, reason: string): Release | null {
    const r = this.#releases.get(canonicalVersion(version));
    if (!r || r.withdrawnAt !== null) return null;
    const now = this.#now();
    Object.assign(r, { withdrawnAt: now, withdrawnReason: reason, updatedAt: now });
    return r;
  }

  async applyReleases(input: ApplyReleasesInput): Promise<ReleaseChanges> {
    const { releases, actor } = parse(ApplyReleasesInput, input, 'release catalog');
    const registered = [...this.#releases.values()].sort(byVersion);
    const plan = planReleaseChanges(registered, releases);
    for (const s of plan.add) {
      this.#put({ version: s.version, destructive: s.destructive, requires: s.requires, notes: s.notes, link: s.link ?? null });
      await this.#audit.appendAudit({ actor, action: 'release.added', details: { version: s.version, destructive: s.destructive, requires: s.requires } });
    }
    for (const ch of plan.change) {
      const before = structuredClone(this.#releases.get(canonicalVersion(ch.version))!);
      this.#put({ version: ch.version, destructive: ch.spec.destructive, requires: ch.spec.requires, notes: ch.spec.notes, link: ch.spec.link ?? null });
      const pick = (o: object) => Object.fromEntries(ch.fields.map((f) => [f, (o as Record<string, unknown>)[f] ?? null]));
      await this.#audit.appendAudit({ actor, action: 'release.changed', details: { version: ch.version, before: pick(before), after: pick(ch.spec) } });
    }
    for (const w of plan.withdraw) {
      this.#withdraw(w.version, w.reason);
      await this.#audit.appendAudit({ actor, action: 'release.withdrawn', details: { version: w.version, reason: w.reason } });
    }
    return plan.changes;
  }

  async withdrawRelease(version: string, reason: string, actor: string): Promise<{ release: Release; changed: boolean }> {
    const v = parse(Version, version, 'version');
    const why = parse(Reason, reason, 'withdrawal reason');
    const who = parse(Actor, actor, 'actor');
    const found = this.#releases.get(canonicalVersion(v));
    if (!found) throw new ReleaseNotFoundError(v);
    const done = this.#withdraw(v, why);
    if (done) await this.#audit.appendAudit({ actor: who, action: 'release.withdrawn', details: { version: done.version, reason: why } });
    return { release: structuredClone(found), changed: done !== null };
  }

  async upsertRelease(input: UpsertReleaseInput): Promise<Release> {
    const r = parse(UpsertReleaseInput, input, 'release');
    if (r.requires.some((q) => sameVersion(q, r.version))) throw new InvalidRegistryInputError(`release ${r.version} cannot require itself`);
    return structuredClone(this.#put(r));
  }

  async getRelease(version: string): Promise<Release | null> {
    const release = this.#releases.get(canonicalVersion(version));
    return release ? structuredClone(release) : null;
  }

  async listReleases(): Promise<Release[]> {
    return [...this.#releases.values()].sort(byVersion).map((r) => structuredClone(r));
  }
}
