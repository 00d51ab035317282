/**
 * The lab's release catalog of Semaphor: which versions exist, what their
 * database schema is and how their schema sync behaves. The simulated app
 * (app.ts) runs schema sync from it, the fake `docker pull` refuses versions
 * that are not in it, and the lab seeds the registry's `releases` table from
 * `RELEASES` (version, destructive, requires).
 */
import { SERVICES, type ServiceName } from '../../core/models';

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

export const CATALOG: readonly Release[] = [
  { version: '1.4.0', destructive: false, requires: [], changes: base, syncFails: false, notes: 'base schema' },
  { version: '1.4.1', destructive: false, requires: [], changes: [], syncFails: false, notes: 'bug fixes, no schema change' },
  {
    version: '1.5.0',
    destructive: false,
    requires: [],
    changes: [{ kind: 'add-column', table: 'users', column: { name: 'last_login', type: 'text' }, fill: null }],
    syncFails: false,
    notes: 'adds users.last_login',
  },
  {
    version: '1.6.0',
    destructive: true,
    requires: [],
    changes: [{ kind: 'drop-column', table: 'dashboards', column: 'legacy_notes' }],
    syncFails: false,
    notes: 'DESTRUCTIVE: drops dashboards.legacy_notes',
  },
  { version: '1.6.1', destructive: false, requires: [], changes: [], syncFails: true, notes: 'broken release: schema sync fails' },
  {
    version: '2.0.0',
    destructive: false,
    requires: ['1.6.0'],
    changes: [addTable('audit_events', { id: 'int', action: 'text', created_at: 'text' })],
    syncFails: false,
    notes: 'requires 1.6.0 first; adds audit_events',
  },
];

/** What the registry's `releases` table is seeded with. */
export const RELEASES = CATALOG.map(({ version, destructive, requires, notes }) => ({ version, destructive, requires, notes }));

export class UnknownReleaseError extends Error {
  override name = 'UnknownReleaseError';
}

const normalise = (v: string) => v.replace(/^v/, '');

export function compareVersions(a: string, b: string): number {
  const pa = normalise(a).split(/[.-]/);
  const pb = normalise(b).split(/[.-]/);
  for (let i = 0; i < 3; i++) {
    const d = Number(pa[i] ?? 0) - Number(pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

export function findRelease(version: string): Release | undefined {
  return CATALOG.find((r) => r.version === normalise(version));
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
