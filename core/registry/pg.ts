/**
 * What every PostgreSQL store of the registry shares: the one transaction
 * helper, and readers that turn column values into the ports' types.
 *
 * Conventions of the adapters:
 * - Writes that belong together (a state change and its audit entry, a
 *   fenced check and the write it guards) run in one `withTransaction`.
 * - Expiry is judged by the database clock (`now()`), never a Lambda's clock.
 */
import type pg from 'pg';

/** A pool or a transaction's client: what a helper that only queries needs. */
export type Db = Pick<pg.PoolClient, 'query'>;
export type Row = Record<string, unknown>;

/**
 * Runs `fn` in one transaction. A connection that broke while we held it (the
 * server went away mid-transaction, or ROLLBACK failed) is discarded, not
 * returned to the pool, so the next caller does not inherit a dead socket.
 */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // While a client is checked out nobody else listens for its 'error' event,
  // and an unheard one would crash the process; the failing query reports it.
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackErr) {
      broken ??= rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
    }
    throw err;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}

/**
 * A row as its port's record. The records mirror their tables column for
 * column, so the mapping is mechanical: `fleet_id` → `fleetId`, timestamps as
 * epoch ms, and the named bigint columns (which pg returns as strings; ours
 * stay far below 2^53) as numbers. `rename` covers a column whose record name
 * differs (a wave's `wave_index` is its `index`).
 */
export function fromRow<T>(row: Row, options: { bigints?: readonly string[]; rename?: Readonly<Record<string, string>> } = {}): T {
  const record: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) {
    const key = options.rename?.[column] ?? column.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
    record[key] = value instanceof Date ? value.getTime() : value !== null && options.bigints?.includes(column) ? Number(value) : value;
  }
  return record as T;
}

export const ms = (v: unknown): number => (v as Date).getTime();
export const msOrNull = (v: unknown): number | null => (v == null ? null : (v as Date).getTime());
/** bigint columns arrive as strings; all of ours stay far below 2^53. */
export const num = (v: unknown): number => Number(v);
export const numOrNull = (v: unknown): number | null => (v == null ? null : Number(v));
export const str = (v: unknown): string => v as string;
export const strOrNull = (v: unknown): string | null => (v == null ? null : (v as string));

/** The SQLSTATE and constraint of a driver error (23505 unique, 23503 foreign key). */
export function pgCode(err: unknown): { code?: string; constraint?: string } {
  return typeof err === 'object' && err !== null ? (err as { code?: string; constraint?: string }) : {};
}
