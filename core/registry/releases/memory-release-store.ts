/** `ReleaseStore` in memory, for unit tests; behaves like PgReleaseStore (contract: test/registry/contract). */
import { InvalidRegistryInputError } from '../errors';
import { parse } from '../fields';
import { UpsertReleaseInput, type Release, type ReleaseStore } from './release-store';

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
  readonly #releases = new Map<string, Release>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  async upsertRelease(input: UpsertReleaseInput): Promise<Release> {
    const r = parse(UpsertReleaseInput, input, 'release');
    if (r.requires.includes(r.version)) throw new InvalidRegistryInputError(`release ${r.version} cannot require itself`);
    const release: Release = { ...r, requires: [...r.requires], createdAt: this.#releases.get(r.version)?.createdAt ?? this.#now() };
    this.#releases.set(r.version, release);
    return structuredClone(release);
  }

  async getRelease(version: string): Promise<Release | null> {
    const release = this.#releases.get(version);
    return release ? structuredClone(release) : null;
  }

  async listReleases(): Promise<Release[]> {
    return [...this.#releases.values()].sort(byVersion).map((r) => structuredClone(r));
  }
}
