/** The registry: ports, PostgreSQL and in-memory adapters, migrations, connection and errors. */
export * from './store';
export * from './errors';
export { PgRegistryStore } from './pg-store';
export { withTransaction } from './pg';
export { assertLease } from './leases/pg-lease-store';
export { insertAudit } from './audit/pg-audit-store';
export { PgAuditStore } from './audit/pg-audit-store';
export { PgBackupStore } from './backups/pg-backup-store';
export { PgComplianceCheckStore } from './compliance/pg-compliance-store';
export { PgFleetStore } from './fleets/pg-fleet-store';
export { PgLeaseStore } from './leases/pg-lease-store';
export { PgReleaseStore } from './releases/pg-release-store';
export { PgRolloutStore } from './rollouts/pg-rollout-store';
export { PgRunStore } from './runs/pg-run-store';
export { InMemoryAuditStore } from './audit/memory-audit-store';
export { InMemoryFleetStore } from './fleets/memory-fleet-store';
export { InMemoryReleaseStore } from './releases/memory-release-store';
export { InMemoryRolloutStore } from './rollouts/memory-rollout-store';
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
