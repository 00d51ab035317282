/**
 * The registry's migrations, in order. They are TypeScript modules rather than
 * .sql files because a Lambda bundle has no file system to read them from:
 * esbuild inlines these strings.
 *
 * Adding one: create `NNN_name.ts` exporting `name` and `sql`, append it here.
 * Never edit or reorder an entry that has shipped (the migrator checks sha256).
 */
import * as m001 from './001_initial';
import * as m002 from './002_compliance';
import * as m003 from './003_rollouts';
import * as m004 from './004_backup_versions';
import * as m005 from './005_catalog_and_retired_hosts';
import * as m006 from './006_step_waits';

export interface Migration {
  /** 1, 2, 3 … contiguous; the order of application. */
  id: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = Object.freeze([
  { id: 1, name: m001.name, sql: m001.sql },
  { id: 2, name: m002.name, sql: m002.sql },
  { id: 3, name: m003.name, sql: m003.sql },
  { id: 4, name: m004.name, sql: m004.sql },
  { id: 5, name: m005.name, sql: m005.sql },
  { id: 6, name: m006.name, sql: m006.sql },
]);
