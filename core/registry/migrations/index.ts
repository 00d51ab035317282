/**
 * The registry's migrations, in order. They are TypeScript modules rather than
 * .sql files because a Lambda bundle has no file system to read them from:
 * esbuild inlines these strings.
 *
 * Adding one: create `NNN_name.ts` exporting `name` and `sql`, append it here.
 * Never edit or reorder an entry that has shipped (the migrator checks sha256).
 */
import * as m001 from './001_initial';

export interface Migration {
  /** 1, 2, 3 … contiguous; the order of application. */
  id: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = Object.freeze([{ id: 1, name: m001.name, sql: m001.sql }]);
