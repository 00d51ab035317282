/**
 * `RegistryStore` over PostgreSQL: each aggregate's Pg store over one pool
 * (injected: Lambdas make one per container with connect.ts, tests one per
 * test database). It holds no SQL of its own.
 */
import type pg from 'pg';
import { PgAuditStore } from './audit/pg-audit-store';
import { PgBackupStore } from './backups/pg-backup-store';
import { combineStores } from './combine';
import { PgComplianceCheckStore } from './compliance/pg-compliance-store';
import { PgFleetStore } from './fleets/pg-fleet-store';
import { PgLeaseStore } from './leases/pg-lease-store';
import { runMigrations, type MigrateResult } from './migrate';
import { PgReleaseStore } from './releases/pg-release-store';
import { PgRolloutStore } from './rollouts/pg-rollout-store';
import { PgRunStore } from './runs/pg-run-store';
import { PgStepWaitStore } from './step-waits/pg-step-wait-store';
import type { RegistryStore } from './store';

// The class gets the aggregates' methods at construction (combineStores); this
// declaration gives it their types, and `satisfies` below checks they are all there.
export interface PgRegistryStore extends RegistryStore {}

export class PgRegistryStore {
  constructor(private readonly pool: pg.Pool) {
    combineStores(this, [
      new PgFleetStore(pool),
      new PgReleaseStore(pool),
      new PgLeaseStore(pool),
      new PgRunStore(pool),
      new PgBackupStore(pool),
      new PgAuditStore(pool),
      new PgRolloutStore(pool),
      new PgComplianceCheckStore(pool),
      new PgStepWaitStore(pool),
    ]) satisfies Omit<RegistryStore, 'migrate'>;
  }

  migrate(): Promise<MigrateResult> {
    return runMigrations(this.pool);
  }
}
