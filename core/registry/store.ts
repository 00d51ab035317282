/**
 * The registry port: every aggregate's port in one type, for callers that
 * use several (host runs, rollouts, the CLI, the lab). Each aggregate has its
 * own port and adapters in its folder:
 *
 *   fleets/      fleets and hosts              FleetStore            PgFleetStore, InMemoryFleetStore
 *   releases/    the release catalog           ReleaseStore          PgReleaseStore, InMemoryReleaseStore
 *   leases/      host leases (fencing tokens)  LeaseStore            PgLeaseStore
 *   runs/        host runs and their steps     RunStore              PgRunStore
 *   backups/     backups                       BackupStore           PgBackupStore
 *   audit/       the append-only audit log     AuditStore            PgAuditStore, InMemoryAuditStore
 *   rollouts/    rollouts, waves, host results RolloutStore          PgRolloutStore, InMemoryRolloutStore
 *   compliance/  compliance checks, results    ComplianceCheckStore  PgComplianceCheckStore
 *   step-waits/  host steps' task tokens       StepWaitStore         PgStepWaitStore
 *
 * `PgRegistryStore` (pg-store.ts) is all of them over one pool.
 *
 * Conventions:
 * - Times are epoch milliseconds (numbers), like `HostRunContext.startedAt`,
 *   so rows travel through Step Functions JSON unchanged.
 * - Inputs are checked with the ports' zod schemas (shared patterns from
 *   core/models.ts) before anything is written.
 * - Lease tokens fence writes: every method taking `leaseToken` throws
 *   `StaleLeaseError` unless it is the host's current, unexpired lease.
 * - Methods keyed on a caller-chosen id (`createRun`, `createBackup`,
 *   `startRollout`) are idempotent on that id: Lambdas retry.
 */
import type { AuditStore } from './audit/audit-store';
import type { BackupStore } from './backups/backup-store';
import type { ComplianceCheckStore } from './compliance/compliance-store';
import type { FleetStore } from './fleets/fleet-store';
import type { LeaseStore } from './leases/lease-store';
import type { MigrateResult } from './migrate';
import type { ReleaseStore } from './releases/release-store';
import type { RolloutStore } from './rollouts/rollout-store';
import type { RunStore } from './runs/run-store';
import type { StepWaitStore } from './step-waits/step-wait-store';

export type { MigrateResult } from './migrate';
export * from './audit/audit-store';
export * from './backups/backup-store';
export * from './compliance/compliance-store';
export * from './fleets/fleet-store';
export * from './leases/lease-store';
export * from './releases/release-store';
export * from './rollouts/rollout-store';
export * from './runs/run-store';
export * from './step-waits/step-wait-store';
export { Actor, SYSTEM_ACTOR } from './fields';

export interface RegistryStore
  extends FleetStore,
    ReleaseStore,
    LeaseStore,
    RunStore,
    BackupStore,
    AuditStore,
    RolloutStore,
    ComplianceCheckStore,
    StepWaitStore {
  /** Apply pending migrations (idempotent, safe to call concurrently). */
  migrate(): Promise<MigrateResult>;
}
