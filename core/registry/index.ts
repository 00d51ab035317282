/** The registry: port, PostgreSQL adapter, migrations, connection and errors. */
export * from './store';
export * from './errors';
export { PgRegistryStore, assertLease, SYSTEM_ACTOR } from './pg-store';
export { runMigrations, migrationChecksum, MIGRATION_LOCK_KEY } from './migrate';
export { MIGRATIONS, type Migration } from './migrations/index';
export {
  createRegistryPool,
  readRegistrySecret,
  poolConfigFromSecret,
  isLocalHost,
  RdsSecret,
  type RegistryConnectionConfig,
} from './connect';
