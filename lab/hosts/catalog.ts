/**
 * The lab's Semaphor releases: the vendor's releases file the product ships
 * (releases/semaphor.json: version, destructive, requires, notes), and how
 * each release behaves in the simulation (its schema changes, whether its
 * schema sync fails). The simulated app (app.ts) runs schema sync from it and
 * the fake `docker pull` refuses versions that are not in it. The registry's
 * catalog is that same file, registered at lab start with the product's own
 * `release apply` function: one list, so the two cannot drift.
 */
import { canonicalVersion, SERVICES, type ServiceName } from '../../core/models';
// The file itself (bundled into the host shims by esbuild, read by tsx and vitest alike).
import vendorReleases from '../../releases/semaphor.json';

/** Registry prefix of every image: `semaphor/<service>:<version>`. */
export const IMAGE_REPOSITORY_PREFIX = 'semaphor';

export function imageName(service: ServiceName, version: string): string {
  return `${IMAGE_REPOSITORY_PREFIX}/${service}:${version}`;
}

export type ColumnType = 'int' | 'text';
export interface Column {
  name: string;
  type: ColumnType;
}

/** One schema change a release's sync applies, in order. */
export type SchemaChange =
  | { kind: 'add-table'; table: string; columns: Column[] }
  | { kind: 'add-column'; table: string; column: Column; fill: string | null }
  | { kind: 'drop-column'; table: string; column: string };

export interface Release {
  version: string;
  /** Drops tables or columns: needs a verified backup and explicit consent. */
  destructive: boolean;
  /** Versions the data must already be on (or past) before this one's sync. */
  requires: string[];
  changes: SchemaChange[];
  /** Schema sync of this release always fails (a broken vendor release). */
  syncFails: boolean;
  notes: string;
}

/** A new table whose columns are given in order, name → type. */
const addTable = (table: string, columns: Record<string, ColumnType>): SchemaChange => ({
  kind: 'add-table',
  table,
  columns: Object.entries(columns).map(([name, type]) => ({ name, type })),
});

const base: SchemaChange[] = [
  addTable('dashboards', { id: 'int', name: 'text', legacy_notes: 'text', created_at: 'text' }),
  addTable('users', { id: 'int', email: 'text', role: 'text' }),
];

/** How each release behaves here; every release of the vendor's file has an entry, and no other. */
const BEHAVIOUR: Readonly<Record<string, { changes: SchemaChange[]; syncFails?: boolean }>> = {
  '1.4.0': { changes: base },
  '1.4.1': { changes: [] },
  '1.5.0': { changes: [{ kind: 'add-column', table: 'users', column: { name: 'last_login', type: 'text' }, fill: null }] },
  '1.6.0': { changes: [{ kind: 'drop-column', table: 'dashboards', column: 'legacy_notes' }] },
  // a broken vendor release: the vendor did not know when it published the file
  '1.6.1': { changes: [], syncFails: true },
  '2.0.0': { changes: [addTable('audit_events', { id: 'int', action: 'text', created_at: 'text' })] },
};

interface VendorRelease {
  version: string;
  destructive?: boolean;
  requires?: string[];
  notes?: string;
}

function catalogOf(vendor: readonly VendorRelease[]): Release[] {
  const listed = new Set(vendor.map((r) => canonicalVersion(r.version)));
  const unlisted = Object.keys(BEHAVIOUR).filter((v) => !listed.has(v));
  if (unlisted.length > 0) throw new Error(`lab catalog: ${unlisted.join(', ')} simulated but not in releases/semaphor.json`);
  return vendor.map((r) => {
    const behaviour = BEHAVIOUR[canonicalVersion(r.version)];
    if (!behaviour) throw new Error(`lab catalog: releases/semaphor.json lists ${r.version}, which the lab cannot simulate (no entry in BEHAVIOUR)`);
    return {
      version: canonicalVersion(r.version),
      destructive: r.destructive ?? false,
      requires: (r.requires ?? []).map(canonicalVersion),
      notes: r.notes ?? '',
      changes: behaviour.changes,
      syncFails: behaviour.syncFails ?? false,
    };
  }).sort((a, b) => compareVersions(a.version, b.version)); // schemaAt walks releases in order
}

export const CATALOG: readonly Release[] = catalogOf(vendorReleases.releases);

export class UnknownReleaseError extends Error {
  override name = 'UnknownReleaseError';
}


export function compareVersions(a: string, b: string): number {
  const pa = canonicalVersion(a).split(/[.-]/);
  const pb = canonicalVersion(b).split(/[.-]/);
  for (let i = 0; i < 3; i++) {
    const d = Number(pa[i] ?? 0) - Number(pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

export function findRelease(version: string): Release | undefined {
  return CATALOG.find((r) => r.version === canonicalVersion(version));
}

export function getRelease(version: string): Release {
  const r = findRelease(version);
  if (!r) throw new UnknownReleaseError(`no Semaphor release ${version} in the lab catalog`);
  return r;
}

export type Schema = Record<string, Column[]>;

export function applyChange(schema: Schema, change: SchemaChange): Schema {
  const next: Schema = Object.fromEntries(Object.entries(schema).map(([t, cols]) => [t, [...cols]]));
  switch (change.kind) {
    case 'add-table':
      next[change.table] = [...change.columns];
      break;
    case 'add-column':
      next[change.table] = [...(next[change.table] ?? []), change.column];
      break;
    case 'drop-column':
      next[change.table] = (next[change.table] ?? []).filter((c) => c.name !== change.column);
      break;
  }
  return next;
}

/** The full schema of a version: every change of every release up to it. */
export function schemaAt(version: string): Schema {
  getRelease(version);
  let schema: Schema = {};
  for (const r of CATALOG) {
    if (compareVersions(r.version, version) > 0) break;
    for (const c of r.changes) schema = applyChange(schema, c);
  }
  return schema;
}

/** Changes that take data from `from` to `to` (from < to). */
export function changesBetween(from: string, to: string): SchemaChange[] {
  return CATALOG.filter((r) => compareVersions(r.version, from) > 0 && compareVersions(r.version, to) <= 0).flatMap(
    (r) => r.changes,
  );
}

export type SyncPlan =
  | { kind: 'none' }
  | { kind: 'init' }
  | { kind: 'migrate'; changes: SchemaChange[] }
  /**
   * A broken release reached across earlier releases: their migrations run
   * and commit (data now on `reached`), then this release's own fails. This
   * is how a destructive change can land although the upgrade fails.
   */
  | { kind: 'partial'; changes: SchemaChange[]; reached: string; reason: string }
  | { kind: 'fail'; reason: string };

/** Decide what schema sync of app version `app` does to data on `data` (null: empty). */
export function planSync(data: string | null, app: string): SyncPlan {
  const target = findRelease(app);
  if (!target) return { kind: 'fail', reason: `unknown release ${app}` };
  if (data === null) return { kind: 'init' };
  if (!findRelease(data)) return { kind: 'fail', reason: `database is on unknown schema version ${data}` };
  const cmp = compareVersions(data, app);
  if (cmp === 0) return { kind: 'none' };
  if (cmp > 0) return { kind: 'fail', reason: `database schema ${data} is newer than this release (${app})` };
  for (const req of target.requires) {
    if (compareVersions(data, req) < 0) return { kind: 'fail', reason: `${app} requires ${req} first (database is on ${data})` };
  }
  if (target.syncFails) {
    const reason = `migration to ${app} aborted: constraint check failed`;
    // migrations run release by release: the ones before the broken release commit first
    const before = CATALOG.filter((r) => compareVersions(r.version, data) > 0 && compareVersions(r.version, app) < 0);
    const changes = before.flatMap((r) => r.changes);
    if (changes.length === 0) return { kind: 'fail', reason };
    return { kind: 'partial', changes, reached: before[before.length - 1]!.version, reason };
  }
  return { kind: 'migrate', changes: changesBetween(data, app) };
}

export { SERVICES };
