/**
 * The registry port: what the Lambda tasks, the CLI and the lab need from the
 * fleet's system of record. `PgRegistryStore` (pg-store.ts) is the adapter.
 *
 * Conventions:
 * - Times are epoch milliseconds (numbers), like `HostRunContext.startedAt`,
 *   so rows travel through Step Functions JSON unchanged.
 * - Inputs are checked with the zod schemas below (shared patterns from
 *   core/models.ts) before anything is written.
 * - Lease tokens fence writes: every method taking `leaseToken` throws
 *   `StaleLeaseError` unless it is the host's current, unexpired lease.
 * - Methods keyed on a caller-chosen id (`createRun`, `createBackup`,
 *   `createRollout`) are idempotent on that id: Lambdas retry.
 */
import { z } from 'zod';
import {
  DatabaseMode,
  FleetId,
  HostId,
  HostStep,
  InstanceId,
  ComposeDir,
  HealthUrl,
  RolloutId,
  RunOutcome,
  Sha256,
  StepOutcome,
  Tier,
  Version,
} from '../models';
import { HostCompliance } from '../compliance/model';
import type { MigrateResult } from './migrate';

export type { MigrateResult } from './migrate';

/** Who did something: an execution ARN, `cli:<user>`, `lab`, … Never a secret. */
export const Actor = z.string().min(1).max(2048);
/** A lease holder: normally the execution ARN of the workflow holding the host. */
export const LeaseHolder = z.string().min(1).max(2048);
export const LeaseToken = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
/** Lease time-to-live; 0 is allowed (an immediately expired lease, used by tests and forced hand-over). */
export const LeaseTtlSeconds = z.number().int().min(0).max(7 * 24 * 3600);
export const FailurePolicy = z.enum(['halt', 'rollback-wave', 'rollback-all']);
export type FailurePolicy = z.infer<typeof FailurePolicy>;
export const RunKind = z.enum(['upgrade', 'rollback']);
export type RunKind = z.infer<typeof RunKind>;
export const RunStatus = z.enum(['running', 'succeeded', 'failed']);
export type RunStatus = z.infer<typeof RunStatus>;
export const BackupStatus = z.enum(['pending', 'verified', 'failed']);
export type BackupStatus = z.infer<typeof BackupStatus>;
export const DataFormat = z.enum(['tar.gz', 'pgdump']);
export type DataFormat = z.infer<typeof DataFormat>;
const JsonObject = z.record(z.string(), z.unknown());
const Text = z.string().max(4000);
/** S3 object keys the orchestrator writes (contracts.md: backups/<hostId>/<backupId>/…). */
const ObjectKey = z.string().regex(/^[A-Za-z0-9!_.*'()\/-]{1,1024}$/, { message: 'object key has unexpected characters' });

// ---------------------------------------------------------------- fleets

export const UpsertFleetInput = z.object({
  id: FleetId,
  appProfile: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/).default('semaphor'),
  /** undefined keeps the stored value; null clears it. */
  desiredVersion: Version.nullable().optional(),
  config: JsonObject.default({}),
});
export type UpsertFleetInput = z.input<typeof UpsertFleetInput>;

export interface Fleet {
  id: string;
  appProfile: string;
  desiredVersion: string | null;
  config: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

// ---------------------------------------------------------------- hosts

export const UpsertHostInput = z.object({
  id: HostId,
  fleetId: FleetId,
  instanceId: InstanceId,
  tier: Tier,
  databaseMode: DatabaseMode,
  composeDir: ComposeDir,
  healthUrl: HealthUrl,
  wave: z.number().int().min(0).max(1000).nullable().optional(),
});
export type UpsertHostInput = z.input<typeof UpsertHostInput>;

export interface Host {
  id: string;
  fleetId: string;
  instanceId: string;
  tier: Tier;
  databaseMode: DatabaseMode;
  composeDir: string;
  healthUrl: string;
  wave: number | null;
  observedVersion: string | null;
  observedAt: number | null;
  /** Quarantined (ROLLBACK_FAILED): no lease is granted until an operator unlocks it. */
  locked: boolean;
  lockedReason: string | null;
  /** Last lease token handed out for this host. */
  leaseSeq: number;
  createdAt: number;
  updatedAt: number;
}

// ---------------------------------------------------------------- releases

export const UpsertReleaseInput = z.object({
  version: Version,
  destructive: z.boolean(),
  requires: z.array(Version).max(100).default([]),
  notes: Text.default(''),
});
export type UpsertReleaseInput = z.input<typeof UpsertReleaseInput>;

export interface Release {
  version: string;
  destructive: boolean;
  /** Versions a host must have passed through before running this one. */
  requires: string[];
  notes: string;
  createdAt: number;
}

// ---------------------------------------------------------------- rollouts (minimal; a later issue extends them)

export const CreateRolloutInput = z.object({
  id: RolloutId,
  fleetId: FleetId,
  targetVersion: Version,
  status: z.string().min(1).max(64),
  failurePolicy: FailurePolicy,
  plan: JsonObject.default({}),
  executionArn: z.string().min(1).max(2048).nullable().default(null),
});
export type CreateRolloutInput = z.input<typeof CreateRolloutInput>;

export interface Rollout {
  id: string;
  fleetId: string;
  targetVersion: string;
  status: string;
  failurePolicy: FailurePolicy;
  plan: Record<string, unknown>;
  executionArn: string | null;
  createdAt: number;
  updatedAt: number;
}

export const UpsertRolloutWaveInput = z.object({
  rolloutId: RolloutId,
  waveIndex: z.number().int().min(0).max(1000),
  tier: Tier,
  hostIds: z.array(HostId).max(10_000),
  status: z.string().min(1).max(64),
  failed: z.number().int().min(0).default(0),
  succeeded: z.number().int().min(0).default(0),
});
export type UpsertRolloutWaveInput = z.input<typeof UpsertRolloutWaveInput>;

export interface RolloutWave {
  rolloutId: string;
  waveIndex: number;
  tier: Tier;
  hostIds: string[];
  status: string;
  failed: number;
  succeeded: number;
}

// ---------------------------------------------------------------- leases

export interface LeaseGrant {
  token: number;
  expiresAt: number;
}

export interface Lease extends LeaseGrant {
  hostId: string;
  holder: string;
  acquiredAt: number;
  /** Computed with the database clock at read time. */
  expired: boolean;
}

// ---------------------------------------------------------------- runs

export const CreateRunInput = z.object({
  id: z.string().uuid(),
  hostId: HostId,
  rolloutId: RolloutId.nullable().default(null),
  kind: RunKind,
  fromVersion: Version.nullable(),
  targetVersion: Version,
  leaseToken: LeaseToken,
  executionArn: z.string().min(1).max(2048).nullable().default(null),
});
export type CreateRunInput = z.input<typeof CreateRunInput>;

export interface HostRun {
  id: string;
  hostId: string;
  rolloutId: string | null;
  kind: RunKind;
  fromVersion: string | null;
  targetVersion: string;
  status: RunStatus;
  outcome: RunOutcome | null;
  failedStep: HostStep | null;
  commandId: string | null;
  outputUri: string | null;
  message: string | null;
  executionArn: string | null;
  leaseToken: number;
  startedAt: number;
  finishedAt: number | null;
}

/** What poll-step returns is what gets recorded (core/models.ts StepOutcome). */
export const RecordStepInput = StepOutcome;
export type RecordStepInput = z.input<typeof StepOutcome>;

export interface RunStep {
  runId: string;
  step: HostStep;
  commandId: string;
  status: RecordStepInput['status'];
  result: Record<string, unknown> | null;
  error: string | null;
  message: string | null;
  outputUri: string | null;
  recordedAt: number;
}

export interface RecordStepResult {
  /** false when the same data was already recorded (a retried Lambda). */
  changed: boolean;
  step: RunStep;
}

export const FinishRunInput = z.object({
  status: z.enum(['succeeded', 'failed']),
  outcome: RunOutcome,
  failedStep: HostStep.nullable().default(null),
  commandId: z.string().min(1).max(256).nullable().default(null),
  outputUri: z.string().max(2048).nullable().default(null),
  message: Text.nullable().default(null),
});
export type FinishRunInput = z.input<typeof FinishRunInput>;

// ---------------------------------------------------------------- backups

export const CreateBackupInput = z.object({
  id: z.string().uuid(),
  hostId: HostId,
  runId: z.string().uuid().nullable().default(null),
  /** The version the backed-up data belongs to (what a restore pins back). */
  version: Version,
  mode: DatabaseMode,
  dataKey: ObjectKey,
  dataFormat: DataFormat,
  configKey: ObjectKey,
});
export type CreateBackupInput = z.input<typeof CreateBackupInput>;

export const BackupVerification = z.object({
  dataBytes: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  dataSha256: Sha256,
  /** Entries the archive listing showed (tar -t / pg_restore -l); 0 means empty, never verified. */
  dataEntries: z.number().int().positive(),
  configBytes: z.number().int().positive(),
  configSha256: Sha256,
});
export type BackupVerification = z.input<typeof BackupVerification>;

export interface Backup {
  id: string;
  hostId: string;
  runId: string | null;
  version: string;
  mode: DatabaseMode;
  dataKey: string;
  dataFormat: DataFormat;
  dataBytes: number | null;
  dataSha256: string | null;
  dataEntries: number | null;
  configKey: string;
  configBytes: number | null;
  configSha256: string | null;
  status: BackupStatus;
  failure: string | null;
  createdAt: number;
  verifiedAt: number | null;
}

export interface LatestVerifiedBackupFilter {
  /** Only backups of data belonging to this version. */
  version?: string;
  /** Only backups created strictly before this time (epoch ms). */
  before?: number;
}

// ---------------------------------------------------------------- audit

export const AppendAuditInput = z.object({
  actor: Actor,
  action: z.string().regex(/^[a-z][a-z0-9.-]{0,63}$/, { message: 'audit action must look like host.locked' }),
  hostId: HostId.nullable().optional(),
  rolloutId: RolloutId.nullable().optional(),
  runId: z.string().uuid().nullable().optional(),
  details: JsonObject.default({}),
});
export type AppendAuditInput = z.input<typeof AppendAuditInput>;

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  hostId: string | null;
  rolloutId: string | null;
  runId: string | null;
  details: Record<string, unknown>;
}

export interface ListAuditFilter {
  hostId?: string;
  runId?: string;
  rolloutId?: string;
  /** Newest first; default 100, at most 1000. */
  limit?: number;
}

// ---------------------------------------------------------------- the port

export interface RegistryStore {
  /** Apply pending migrations (idempotent, safe to call concurrently). */
  migrate(): Promise<MigrateResult>;

  upsertFleet(input: UpsertFleetInput): Promise<Fleet>;
  /** @throws FleetNotFoundError */
  getFleet(fleetId: string): Promise<Fleet>;
  listFleets(): Promise<Fleet[]>;
  /** @throws FleetNotFoundError */
  setDesiredVersion(fleetId: string, version: string | null): Promise<Fleet>;

  /** Creates or updates a host's configuration; never touches observed version, lock or lease state. */
  upsertHost(input: UpsertHostInput): Promise<Host>;
  /** @throws HostNotFoundError */
  getHost(hostId: string): Promise<Host>;
  listHosts(filter?: { fleetId?: string }): Promise<Host[]>;
  /** `null` when the host runs no single version (mixed or stopped). @throws HostNotFoundError */
  recordObservedVersion(hostId: string, version: string | null): Promise<Host>;
  /** Quarantine a host (ROLLBACK_FAILED). Audited. @throws HostNotFoundError */
  lockHost(hostId: string, reason: string, actor?: string): Promise<Host>;
  /** Lift the quarantine. Audited with the operator as actor. @throws HostNotFoundError */
  unlockHost(hostId: string, actor: string): Promise<Host>;

  upsertRelease(input: UpsertReleaseInput): Promise<Release>;
  /** null when the version is not in the catalog. */
  getRelease(version: string): Promise<Release | null>;
  listReleases(): Promise<Release[]>;

  /** Idempotent on id: returns the stored rollout when it exists. */
  createRollout(input: CreateRolloutInput): Promise<Rollout>;
  /** @throws RolloutNotFoundError */
  getRollout(rolloutId: string): Promise<Rollout>;
  updateRolloutStatus(rolloutId: string, status: string, executionArn?: string | null): Promise<Rollout>;
  upsertRolloutWave(input: UpsertRolloutWaveInput): Promise<RolloutWave>;
  listRolloutWaves(rolloutId: string): Promise<RolloutWave[]>;

  /**
   * Take the host's lease. Token = ++hosts.lease_seq (monotonic per host).
   * The same holder re-acquiring an unexpired lease gets the same token back
   * (expiry extended), so a retried Lambda is harmless.
   * @throws HostQuarantinedError when the host is locked
   * @throws HostLockedError when another holder's lease is unexpired
   * @throws HostNotFoundError
   */
  acquireLease(hostId: string, holder: string, ttlSeconds: number): Promise<LeaseGrant>;
  /** @throws StaleLeaseError unless `token` is the current unexpired lease */
  renewLease(hostId: string, token: number, ttlSeconds: number): Promise<LeaseGrant>;
  /** No-op when already released; @throws StaleLeaseError when another holder has an unexpired lease. */
  releaseLease(hostId: string, token: number): Promise<void>;
  /** @throws StaleLeaseError unless `token` is the current unexpired lease */
  assertLease(hostId: string, token: number): Promise<void>;
  /** The lease row as stored (possibly expired), null when none. */
  getLease(hostId: string): Promise<Lease | null>;

  /** Fenced on first creation; idempotent on id (returns the stored run). @throws RunConflictError */
  createRun(input: CreateRunInput): Promise<HostRun>;
  /** @throws RunNotFoundError */
  getRun(runId: string): Promise<HostRun>;
  /** Newest first. */
  listRuns(filter?: { hostId?: string; rolloutId?: string; limit?: number }): Promise<HostRun[]>;
  /**
   * Fenced. Overwrites the step's record only when the command id differs or
   * the status changes; identical data is a no-op. A terminal status is never
   * replaced by Pending for the same command (a late poll result).
   */
  recordStep(runId: string, leaseToken: number, step: RecordStepInput): Promise<RecordStepResult>;
  listSteps(runId: string): Promise<RunStep[]>;
  /**
   * Fenced and idempotent: finishing again with the same status/outcome/failedStep
   * returns the stored run even after the lease was released.
   * @throws RunAlreadyFinishedError when finished with a different result
   */
  finishRun(runId: string, leaseToken: number, result: FinishRunInput): Promise<HostRun>;

  /** Idempotent on id. */
  createBackup(input: CreateBackupInput): Promise<Backup>;
  /** Fenced by the backup's host lease; idempotent for identical details. @throws BackupStateError */
  markBackupVerified(backupId: string, leaseToken: number, details: BackupVerification): Promise<Backup>;
  /** A verified backup cannot be failed afterwards. @throws BackupStateError */
  markBackupFailed(backupId: string, reason: string): Promise<Backup>;
  /** @throws BackupNotFoundError */
  getBackup(backupId: string): Promise<Backup>;
  /** Newest first. */
  listBackups(hostId: string): Promise<Backup[]>;
  latestVerifiedBackup(hostId: string, filter?: LatestVerifiedBackupFilter): Promise<Backup | null>;

  appendAudit(input: AppendAuditInput): Promise<AuditEntry>;
  /** Newest first. */
  listAudit(filter?: ListAuditFilter): Promise<AuditEntry[]>;

  // compliance (version-parity checks; types in the compliance section below)
  /** Idempotent on id: returns the stored check when it exists. @throws FleetNotFoundError */
  createComplianceCheck(input: CreateComplianceCheckInput): Promise<ComplianceCheck>;
  getComplianceCheck(checkId: string): Promise<ComplianceCheck | null>;
  /**
   * Store every host's result and close the check, in one transaction.
   * Idempotent: a completed check is returned unchanged (`changed: false`).
   */
  completeComplianceCheck(checkId: string, input: CompleteComplianceCheckInput): Promise<{ check: ComplianceCheck; changed: boolean }>;
  /** Marks a running check failed; a completed one is left as it is. */
  failComplianceCheck(checkId: string, message: string): Promise<ComplianceCheck | null>;
  /** The newest completed check (covering `fleetId`, when given), optionally finished before `beforeCheckId`'s start. */
  latestComplianceCheck(filter?: { fleetId?: string; before?: string }): Promise<ComplianceCheck | null>;
  /** Results of one check, by fleet then host. */
  listComplianceResults(checkId: string, filter?: { fleetId?: string }): Promise<ComplianceResult[]>;
  /** Per fleet of the check, counted from its results. */
  complianceCounts(checkId: string): Promise<ComplianceFleetCounts[]>;
  /** Records that the drift alert of `fleetId` in this check was published (idempotent). */
  markComplianceNotified(checkId: string, fleetId: string): Promise<void>;
}

// ---------------------------------------------------------------- compliance

export const ComplianceCheckStatus = z.enum(['running', 'completed', 'failed']);
export type ComplianceCheckStatus = z.infer<typeof ComplianceCheckStatus>;

export const CreateComplianceCheckInput = z.object({
  id: z.string().uuid(),
  fleetId: FleetId.nullable().default(null),
  executionArn: z.string().min(1).max(2048).nullable().default(null),
  hostCount: z.number().int().min(0).max(1_000_000),
});
export type CreateComplianceCheckInput = z.input<typeof CreateComplianceCheckInput>;

export const CompleteComplianceCheckInput = z.object({
  results: z.array(HostCompliance).max(1_000_000),
  reportKey: ObjectKey.nullable(),
  /** Per fleet: the drift event this check raised, if any. */
  drift: z.record(FleetId, z.enum(['drift-appeared', 'drift-cleared'])).default({}),
});
export type CompleteComplianceCheckInput = z.input<typeof CompleteComplianceCheckInput>;

export interface ComplianceCheck {
  id: string;
  fleetId: string | null;
  executionArn: string | null;
  status: ComplianceCheckStatus;
  hostCount: number;
  compliant: number | null;
  /** Includes UNKNOWN hosts. */
  nonCompliant: number | null;
  unknown: number | null;
  reportKey: string | null;
  message: string | null;
  /** fleetId → {event, notifiedAt (epoch ms) or null} */
  drift: Record<string, { event: 'drift-appeared' | 'drift-cleared'; notifiedAt: number | null }>;
  startedAt: number;
  finishedAt: number | null;
}

export interface ComplianceResult extends HostCompliance {
  checkId: string;
  recordedAt: number;
}

export interface ComplianceFleetCounts {
  fleetId: string;
  hosts: number;
  compliant: number;
  nonCompliant: number;
  unknown: number;
}
