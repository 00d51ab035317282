/**
 * The simulated Semaphor database in its two modes, behind one interface:
 * - embedded: files in the `semaphor-data` volume (`schema.json` +
 *   `tables/<table>.jsonl`), what `tar` backs up and restores;
 * - external: a real PostgreSQL database (DATABASE_URL), what `pg_dump` /
 *   `pg_restore` back up and restore. `semaphor_meta` records the schema version.
 * Schema sync (app.ts) and the row-level checksums the tests compare use it.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { applyChange, schemaAt, type Schema, type SchemaChange } from './catalog';

export type Row = Record<string, string | number | null>;

export interface DataStore {
  /** Schema version the data is on; null for an empty (never initialised) database. */
  schemaVersion(): Promise<string | null>;
  /** Create the schema of `version` with no rows (first start on an empty database). */
  init(version: string): Promise<void>;
  /** Apply `changes` and record `version`, all or nothing. */
  migrate(version: string, changes: SchemaChange[]): Promise<void>;
  insertRows(table: string, rows: Row[]): Promise<void>;
  /** Per table: sha256 over its rows sorted by id, every column included. */
  checksums(): Promise<Record<string, string>>;
  /** Every table with its columns and rows. */
  tables(): Promise<HostData>;
  close(): Promise<void>;
}

export interface TableData {
  columns: string[];
  rows: Row[];
}
export type HostData = Record<string, TableData>;

/** sha256 over `rows` sorted by id; over `columns` only when given, else every column a row has. */
function rowDigest(rows: Row[], columns?: string[]): string {
  const h = createHash('sha256');
  const sorted = [...rows].sort((a, b) => Number(a.id) - Number(b.id));
  for (const row of sorted) {
    const cols = [...(columns ?? Object.keys(row))].sort();
    h.update(JSON.stringify(cols.map((c) => [c, row[c] === null || row[c] === undefined ? null : String(row[c])])));
    h.update('\n');
  }
  return h.digest('hex');
}

export interface TableSummary {
  rows: number;
  checksum: string;
}

/**
 * What an upgrade must keep of the data it found: for every table of
 * `before`, its row count and a checksum over the columns that are still
 * there in `after` (a destructive release may drop a column; its other
 * columns keep their values). `lostColumns` names the columns that did not
 * survive, `table.column`, so a test states which drops it expects.
 */
export function keptRows(before: HostData, after: HostData): { before: Record<string, TableSummary>; after: Record<string, TableSummary>; lostColumns: string[] } {
  const out = { before: {} as Record<string, TableSummary>, after: {} as Record<string, TableSummary>, lostColumns: [] as string[] };
  for (const [table, was] of Object.entries(before)) {
    const now = after[table];
    const columns = was.columns.filter((c) => now?.columns.includes(c));
    out.lostColumns.push(...was.columns.filter((c) => !columns.includes(c)).map((c) => `${table}.${c}`));
    out.before[table] = { rows: was.rows.length, checksum: rowDigest(was.rows, columns) };
    if (now) out.after[table] = { rows: now.rows.length, checksum: rowDigest(now.rows, columns) };
  }
  return out;
}

/** Deterministic sample rows for a version's schema, different per host. */
export function seedRows(version: string, hostId: string): Record<string, Row[]> {
  const schema = schemaAt(version);
  const counts: Record<string, number> = { dashboards: 6, users: 4, audit_events: 3 };
  const out: Record<string, Row[]> = {};
  for (const [table, columns] of Object.entries(schema)) {
    const rows: Row[] = [];
    for (let i = 1; i <= (counts[table] ?? 3); i++) {
      const row: Row = {};
      for (const c of columns) {
        if (c.name === 'id') row.id = i;
        else if (c.name === 'legacy_notes') row[c.name] = i % 3 === 0 ? null : `note "${i}" for ${hostId}\nsecond line\ttab`;
        else if (c.name === 'created_at') row[c.name] = new Date(Date.UTC(2024, 0, i)).toISOString();
        else if (c.name === 'email') row[c.name] = `user${i}@${hostId}.example`;
        else if (c.name === 'role') row[c.name] = i === 1 ? 'admin' : 'viewer';
        else if (c.name === 'last_login') row[c.name] = i % 2 === 0 ? null : new Date(Date.UTC(2024, 5, i)).toISOString();
        else row[c.name] = c.type === 'int' ? i : `${table}.${c.name}.${i}`;
      }
      rows.push(row);
    }
    out[table] = rows;
  }
  return out;
}

// ---------------------------------------------------------------- embedded

interface EmbeddedSchemaFile {
  version: string;
  tables: Schema;
}

export class EmbeddedStore implements DataStore {
  constructor(private readonly dir: string) {}

  private readSchema(): EmbeddedSchemaFile | null {
    const f = join(this.dir, 'schema.json');
    if (!existsSync(f)) return null;
    return JSON.parse(readFileSync(f, 'utf8')) as EmbeddedSchemaFile;
  }

  private readTable(table: string): Row[] {
    const f = join(this.dir, 'tables', `${table}.jsonl`);
    if (!existsSync(f)) return [];
    return readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Row);
  }

  /** Write every table into a fresh dir, then swap it in and record the schema last. */
  private writeAll(version: string, schema: Schema, data: Record<string, Row[]>): void {
    mkdirSync(this.dir, { recursive: true });
    const next = join(this.dir, 'tables.next');
    rmSync(next, { recursive: true, force: true });
    mkdirSync(next);
    for (const table of Object.keys(schema)) {
      const rows = data[table] ?? [];
      writeFileSync(join(next, `${table}.jsonl`), rows.map((r) => JSON.stringify(r) + '\n').join(''));
    }
    const old = join(this.dir, 'tables.old');
    rmSync(old, { recursive: true, force: true });
    if (existsSync(join(this.dir, 'tables'))) renameSync(join(this.dir, 'tables'), old);
    renameSync(next, join(this.dir, 'tables'));
    const tmp = join(this.dir, 'schema.json.tmp');
    writeFileSync(tmp, JSON.stringify({ version, tables: schema } satisfies EmbeddedSchemaFile, null, 2));
    renameSync(tmp, join(this.dir, 'schema.json'));
    rmSync(old, { recursive: true, force: true });
  }

  async schemaVersion(): Promise<string | null> {
    return this.readSchema()?.version ?? null;
  }

  async init(version: string): Promise<void> {
    this.writeAll(version, schemaAt(version), {});
  }

  async migrate(version: string, changes: SchemaChange[]): Promise<void> {
    const current = this.readSchema();
    if (!current) throw new Error('embedded database is empty');
    let schema = current.tables;
    const data: Record<string, Row[]> = {};
    for (const t of Object.keys(schema)) data[t] = this.readTable(t);
    for (const ch of changes) {
      schema = applyChange(schema, ch);
      if (ch.kind === 'add-table') data[ch.table] = [];
      if (ch.kind === 'add-column') for (const r of data[ch.table] ?? []) r[ch.column.name] = ch.fill;
      if (ch.kind === 'drop-column') for (const r of data[ch.table] ?? []) delete r[ch.column];
    }
    this.writeAll(version, schema, data);
  }

  async insertRows(table: string, rows: Row[]): Promise<void> {
    const current = this.readSchema();
    if (!current?.tables[table]) throw new Error(`no table ${table}`);
    const data: Record<string, Row[]> = {};
    for (const t of Object.keys(current.tables)) data[t] = this.readTable(t);
    data[table] = [...(data[table] ?? []), ...rows];
    this.writeAll(current.version, current.tables, data);
  }

  async checksums(): Promise<Record<string, string>> {
    const current = this.readSchema();
    if (!current) return {};
    const dir = join(this.dir, 'tables');
    const tables = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.jsonl')).map((f) => f.slice(0, -6)) : [];
    return Object.fromEntries(tables.sort().map((t) => [t, rowDigest(this.readTable(t))]));
  }

  async tables(): Promise<HostData> {
    const current = this.readSchema();
    if (!current) return {};
    const out: HostData = {};
    for (const [table, columns] of Object.entries(current.tables).sort(([a], [b]) => a.localeCompare(b))) {
      out[table] = { columns: columns.map((c) => c.name), rows: this.readTable(table) };
    }
    return out;
  }

  async close(): Promise<void> {}
}

// ---------------------------------------------------------------- external

const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;
const sqlType = (t: string) => (t === 'int' ? 'integer' : 'text');

export class ExternalStore implements DataStore {
  private constructor(private readonly client: pg.Client) {}

  static async connect(databaseUrl: string): Promise<ExternalStore> {
    const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
    await client.connect();
    return new ExternalStore(client);
  }

  async schemaVersion(): Promise<string | null> {
    const t = await this.client.query(`SELECT to_regclass('public.semaphor_meta') AS t`);
    if (!t.rows[0]?.t) return null;
    const r = await this.client.query(`SELECT value FROM semaphor_meta WHERE key = 'schema_version'`);
    return (r.rows[0]?.value as string | undefined) ?? null;
  }

  private async inTransaction(fn: () => Promise<void>): Promise<void> {
    await this.client.query('BEGIN');
    try {
      await fn();
      await this.client.query('COMMIT');
    } catch (err) {
      await this.client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  private async setVersion(version: string): Promise<void> {
    await this.client.query(`CREATE TABLE IF NOT EXISTS semaphor_meta (key text PRIMARY KEY, value text NOT NULL)`);
    await this.client.query(
      `INSERT INTO semaphor_meta (key, value) VALUES ('schema_version', $1)
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
      [version],
    );
  }

  private async apply(ch: SchemaChange): Promise<void> {
    if (ch.kind === 'add-table') {
      const cols = ch.columns.map((c) => `${ident(c.name)} ${sqlType(c.type)}${c.name === 'id' ? ' PRIMARY KEY' : ''}`);
      await this.client.query(`CREATE TABLE ${ident(ch.table)} (${cols.join(', ')})`);
    } else if (ch.kind === 'add-column') {
      await this.client.query(`ALTER TABLE ${ident(ch.table)} ADD COLUMN ${ident(ch.column.name)} ${sqlType(ch.column.type)}`);
      if (ch.fill !== null) await this.client.query(`UPDATE ${ident(ch.table)} SET ${ident(ch.column.name)} = $1`, [ch.fill]);
    } else {
      await this.client.query(`ALTER TABLE ${ident(ch.table)} DROP COLUMN ${ident(ch.column)}`);
    }
  }

  async init(version: string): Promise<void> {
    await this.inTransaction(async () => {
      for (const [table, columns] of Object.entries(schemaAt(version))) await this.apply({ kind: 'add-table', table, columns });
      await this.setVersion(version);
    });
  }

  async migrate(version: string, changes: SchemaChange[]): Promise<void> {
    await this.inTransaction(async () => {
      for (const ch of changes) await this.apply(ch);
      await this.setVersion(version);
    });
  }

  async insertRows(table: string, rows: Row[]): Promise<void> {
    for (const row of rows) {
      const cols = Object.keys(row);
      await this.client.query(
        `INSERT INTO ${ident(table)} (${cols.map(ident).join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`,
        cols.map((c) => row[c]),
      );
    }
  }

  async checksums(): Promise<Record<string, string>> {
    const t = await this.client.query(
      `SELECT table_name FROM information_schema.tables
       WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'semaphor_meta'
       ORDER BY table_name`,
    );
    const out: Record<string, string> = {};
    for (const { table_name } of t.rows as { table_name: string }[]) {
      const r = await this.client.query(`SELECT * FROM ${ident(table_name)}`);
      out[table_name] = rowDigest(r.rows as Row[]);
    }
    return out;
  }

  async tables(): Promise<HostData> {
    const c = await this.client.query(
      `SELECT table_name, column_name FROM information_schema.columns
       WHERE table_schema = 'public' AND table_name <> 'semaphor_meta'
       ORDER BY table_name, ordinal_position`,
    );
    const out: HostData = {};
    for (const { table_name, column_name } of c.rows as { table_name: string; column_name: string }[]) {
      (out[table_name] ??= { columns: [], rows: [] }).columns.push(column_name);
    }
    for (const table of Object.keys(out)) {
      out[table]!.rows = (await this.client.query(`SELECT * FROM ${ident(table)}`)).rows as Row[];
    }
    return out;
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}

/** Open the store a host's compose dir points at: DATABASE_URL in semaphor.env, else the volume. */
export async function openStore(opts: { databaseUrl?: string | undefined; volumeDir: string }): Promise<DataStore> {
  return opts.databaseUrl ? ExternalStore.connect(opts.databaseUrl) : new EmbeddedStore(opts.volumeDir);
}
