/**
 * Domain models shared by the Lambda tasks, the state machines, the CLI and
 * the lab. Validation patterns live here once; SSM documents repeat them as
 * `allowedPattern` and a test keeps the two in step.
 */
import { z } from 'zod';

export const SERVICES = ['api-service', 'data-service', 'data-service-sidecar'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** A pinned release tag. `latest` and anything not semver-shaped is refused. */
export const VERSION_PATTERN = /^v?[0-9]{1,4}\.[0-9]{1,4}\.[0-9]{1,4}(-[0-9A-Za-z]{1,20}(\.[0-9A-Za-z]{1,20}){0,3})?$/;
/** Host, fleet and rollout ids: lower-case slugs, no leading dash. */
export const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** EC2 instance ids and SSM managed-instance ids (hybrid activations). */
export const INSTANCE_ID_PATTERN = /^(i|mi)-[0-9a-f]{8,17}$/;
/** Absolute path; no segment may start with a dot, so `..` and `.` are impossible. */
export const COMPOSE_DIR_PATTERN = /^(\/[A-Za-z0-9_][A-Za-z0-9._-]{0,63}){1,16}$/;
export const HEALTH_URL_PATTERN = /^https?:\/\/[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?(\/[A-Za-z0-9._~/-]{0,200})?$/;
export const SHA256_PATTERN = /^[a-f0-9]{64}$/;
/** Free text that is stored and logged but never reaches a shell. */
export const REASON_PATTERN = /^[\x20-\x7E]{1,500}$/;

const patterned = (re: RegExp, what: string) =>
  z.string().regex(re, { message: `${what} must match ${re.source}` });

export const Version = patterned(VERSION_PATTERN, 'version').refine((v) => v.toLowerCase() !== 'latest', {
  message: 'version must be a pinned release tag, never latest',
});
export const HostId = patterned(ID_PATTERN, 'host id');
export const FleetId = patterned(ID_PATTERN, 'fleet id');
export const RolloutId = patterned(ID_PATTERN, 'rollout id');
export const InstanceId = patterned(INSTANCE_ID_PATTERN, 'instance id');
export const ComposeDir = patterned(COMPOSE_DIR_PATTERN, 'compose dir');
export const HealthUrl = patterned(HEALTH_URL_PATTERN, 'health URL');
export const Sha256 = patterned(SHA256_PATTERN, 'sha256');
export const Reason = patterned(REASON_PATTERN, 'reason');

/** In rollout order: every staging wave runs before any production wave. */
export const TIERS = ['staging', 'production'] as const;
export const Tier = z.enum(TIERS);
export type Tier = z.infer<typeof Tier>;
export const DATABASE_MODES = ['embedded', 'external'] as const;
export const DatabaseMode = z.enum(DATABASE_MODES);
export type DatabaseMode = z.infer<typeof DatabaseMode>;

// The enums below are also CHECK constraints in the registry's migrations
// (core/registry/migrations); a value added here needs a migration there.

/** A host run either upgrades a host or restores it from a backup. */
export const RunKind = z.enum(['upgrade', 'rollback']);
export type RunKind = z.infer<typeof RunKind>;
export const RunStatus = z.enum(['running', 'succeeded', 'failed']);
export type RunStatus = z.infer<typeof RunStatus>;

export const BackupStatus = z.enum(['pending', 'verified', 'failed']);
export type BackupStatus = z.infer<typeof BackupStatus>;
/** A backup's data archive: a tar of the embedded database's volume, or a pg_dump of an external one. */
export const DataFormat = z.enum(['tar.gz', 'pgdump']);
export type DataFormat = z.infer<typeof DataFormat>;

/** What a fleet rollout does when a wave goes over its failure budget. */
export const FAILURE_POLICIES = ['halt', 'rollback-wave', 'rollback-all'] as const;
export const FailurePolicy = z.enum(FAILURE_POLICIES);
export type FailurePolicy = z.infer<typeof FailurePolicy>;

/** The statuses a rollout ends in (FleetRollout's and RolloutRollback's Finish states send one). */
export const RolloutEnd = z.enum(['succeeded', 'halted', 'rolled-back', 'failed', 'stopped']);
export type RolloutEnd = z.infer<typeof RolloutEnd>;
/** A rollout's status: in progress (the first three), or how it ended. */
export const RolloutStatus = z.enum(['running', 'awaiting-approval', 'stop-requested', ...RolloutEnd.options]);
export type RolloutStatus = z.infer<typeof RolloutStatus>;
export const WaveStatus = z.enum(['pending', 'succeeded', 'failed']);
export type WaveStatus = z.infer<typeof WaveStatus>;
/** One host's result in a rollout; `refused` hosts never got a run (locked, quarantined, bad input). */
export const RolloutHostResult = z.enum(['succeeded', 'failed', 'unreachable', 'refused', 'rolled-back', 'rollback-failed']);
export type RolloutHostResult = z.infer<typeof RolloutHostResult>;

export const HOST_STEPS = [
  'preflight',
  'backup',
  'pull-images',
  'pin-tags',
  'restart',
  'watch-schema',
  'health-check',
  'restore',
  'inventory',
] as const;
export const HostStep = z.enum(HOST_STEPS);
export type HostStep = z.infer<typeof HostStep>;

/** Outcome classification of a host run (issue: per-host upgrade). */
export const RUN_OUTCOMES = [
  'succeeded',
  'noop',
  'unreachable',
  'preflight-failed',
  'backup-failed',
  'pull-failed',
  'schema-sync-failed',
  'unhealthy',
  'timed-out',
  'license-expired',
  'restored',
  'rollback-failed',
  'refused',
] as const;
export const RunOutcome = z.enum(RUN_OUTCOMES);
export type RunOutcome = z.infer<typeof RunOutcome>;

/**
 * How the health-check step judges a host: `passes` consecutive healthy
 * answers, one every `intervalSeconds`, given up after `timeoutSeconds`.
 * The defaults are the HealthCheck document's own; a fleet (fleet file) and
 * a run's request may tighten or relax them (the lab's hosts start in a second).
 */
export const HealthCheckFields = z
  .object({
    passes: z.number().int().min(1).max(100),
    intervalSeconds: z.number().int().min(1).max(300),
    timeoutSeconds: z.number().int().min(5).max(3600),
  })
  .strict();
export const HealthCheckPolicy = HealthCheckFields.refine((p) => p.timeoutSeconds >= p.passes * p.intervalSeconds, {
  message: 'timeoutSeconds must leave room for passes × intervalSeconds',
});
export type HealthCheckPolicy = z.infer<typeof HealthCheckPolicy>;
export const DEFAULT_HEALTH_CHECK: HealthCheckPolicy = { passes: 3, intervalSeconds: 5, timeoutSeconds: 300 };

/**
 * What the state machines carry through every task of one host run. Made by
 * the begin-run task from the registry; never holds a secret.
 */
export const HostRunContext = z.object({
  runId: z.string().uuid(),
  kind: RunKind,
  hostId: HostId,
  fleetId: FleetId,
  instanceId: InstanceId,
  composeDir: ComposeDir,
  healthUrl: HealthUrl,
  mode: DatabaseMode,
  /** Version recorded as running before the run, null when never observed. */
  fromVersion: Version.nullable(),
  targetVersion: Version,
  rolloutId: RolloutId.nullable(),
  /** Fencing token of the host lease this run holds. */
  leaseToken: z.number().int().positive(),
  /** Epoch ms when the run started; SSM ListCommands look-ups start here. */
  startedAt: z.number().int(),
  /** Health-check policy of this run (begin-run always sets it; absent: the document's defaults). */
  healthCheck: HealthCheckPolicy.optional(),
  /**
   * Who the run acts for (the request's requestedBy, else the execution),
   * always set by begin-run so the restore branch can hand it to HostRollback
   * without a JSONPath to an optional input field.
   */
  requestedBy: Reason.optional(),
});
export type HostRunContext = z.infer<typeof HostRunContext>;

/** SSM command as sent for one step; carried from send-step to poll-step. */
export const SentCommand = z.object({
  step: HostStep,
  commandId: z.string().min(1),
  instanceId: InstanceId,
  documentName: z.string().min(1),
  sentAt: z.number().int(),
  /** Epoch ms after which poll-step reports TimedOut even if SSM still says InProgress. */
  deadline: z.number().int(),
});
export type SentCommand = z.infer<typeof SentCommand>;

export const STEP_STATUSES = ['Pending', 'Success', 'Failed', 'TimedOut', 'Undeliverable', 'Cancelled'] as const;
export const StepStatus = z.enum(STEP_STATUSES);
export type StepStatus = z.infer<typeof StepStatus>;

/** What poll-step returns; Choice states branch on `status`. */
export const StepOutcome = z.object({
  step: HostStep,
  status: StepStatus,
  commandId: z.string(),
  /** The script's JSON result line, when it printed one. */
  result: z.record(z.string(), z.unknown()).nullable(),
  /** `error` code from the result line, or an SSM-level reason (e.g. `agent-offline`). */
  error: z.string().nullable(),
  message: z.string().nullable(),
  /** Where the full stdout/stderr are (s3://...), when SSM wrote them. */
  outputUri: z.string().nullable(),
});
export type StepOutcome = z.infer<typeof StepOutcome>;
