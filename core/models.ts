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

/** A string that must match `re`; the message says in words what it must look like. */
const patterned = (re: RegExp, message: string) => z.string().regex(re, { message });

/** The pattern refuses `latest` (and every other floating tag): a run always names one release. */
export const Version = patterned(VERSION_PATTERN, 'must be a version like 1.6.0 (or v1.6.0), never latest');
/** `v1.5.0` and `1.5.0` are one release: the form without the `v` is the one compared. */
export const canonicalVersion = (v: string): string => v.replace(/^v/, '');
export const sameVersion = (a: string, b: string): boolean => canonicalVersion(a) === canonicalVersion(b);

const ID_WORDS = 'lower-case letters, digits and dashes, at most 63, not starting with a dash';
export const HostId = patterned(ID_PATTERN, `must be a host id like acme-prod-1 (${ID_WORDS})`);
export const FleetId = patterned(ID_PATTERN, `must be a fleet id like acme (${ID_WORDS})`);
export const RolloutId = patterned(ID_PATTERN, `must be a rollout id like acme-1-6-0 (${ID_WORDS})`);
export const InstanceId = patterned(
  INSTANCE_ID_PATTERN,
  'must be an EC2 instance id like i-0123456789abcdef0 or a managed-instance id like mi-0123456789abcdef0',
);

/**
 * Where a compose dir may not be: the host scripts run as root and write the
 * compose and env files there (and restore renames files into it). The trees
 * are refused with everything under them; the others only themselves.
 */
const SYSTEM_TREES = ['/etc', '/proc', '/sys', '/dev', '/boot', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/run', '/var/run', '/var/lib/docker',
  '/usr/bin', '/usr/sbin', '/usr/lib', '/usr/lib32', '/usr/lib64', '/usr/libexec', '/usr/include', '/usr/share', '/usr/local/bin', '/usr/local/sbin', '/usr/local/lib', '/usr/local/etc'];
const SYSTEM_DIRS = ['/usr', '/usr/local', '/var', '/var/lib', '/var/tmp', '/tmp', '/opt', '/srv', '/home', '/root', '/mnt', '/media'];
export function systemDirectoryOf(dir: string): string | null {
  const tree = SYSTEM_TREES.find((t) => dir === t || dir.startsWith(`${t}/`));
  return tree ?? (SYSTEM_DIRS.includes(dir) ? dir : null);
}
export const ComposeDir = patterned(
  COMPOSE_DIR_PATTERN,
  "must be an absolute path like /opt/semaphor (up to 16 parts of letters, digits, '.', '_' and '-', none starting with a dot)",
).superRefine((dir, ctx) => {
  const system = systemDirectoryOf(dir);
  if (system) {
    const where = system === dir ? `${dir} is a system directory` : `${dir} is inside the system directory ${system}`;
    ctx.addIssue({ code: 'custom', message: `${where}: give the directory that holds the deployment's docker-compose.yml, like /opt/semaphor` });
  }
});

/** Host names that answer with the instance's metadata (and its credentials) rather than a health page. */
const METADATA_HOSTS = ['instance-data', 'instance-data.ec2.internal', 'metadata', 'metadata.google.internal'];
/** Why `url` may not be a health URL (link-local or metadata address), or null. The WHATWG parser reads 2852039166 and 0xa9fea9fe as 169.254.169.254, as curl does. */
export function forbiddenHealthTarget(url: string): string | null {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase().replace(/\.$/, '');
  } catch {
    return null; // the pattern has the say on the form
  }
  if (METADATA_HOSTS.includes(host)) return `${host} is the instance-metadata service, not the deployment`;
  if (/^169\.254\.\d+\.\d+$/.test(host)) {
    return `${host} is a link-local address (169.254.0.0/16${host === '169.254.169.254' ? ', the instance-metadata service' : ''}), not the deployment`;
  }
  return null;
}
export const HealthUrl = patterned(
  HEALTH_URL_PATTERN,
  'must be an http or https URL like http://10.0.0.5:3000/api/health (a host name or address, an optional port, a path of letters, digits and . _ ~ / -)',
).superRefine((url, ctx) => {
  const why = forbiddenHealthTarget(url);
  if (why) ctx.addIssue({ code: 'custom', message: `the health URL must reach the deployment: ${why}` });
});
export const Sha256 = patterned(SHA256_PATTERN, 'must be 64 lower-case hexadecimal digits');
export const Reason = patterned(REASON_PATTERN, 'must be 1 to 500 printable ASCII characters (no line breaks)');

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
/** The statuses of a rollout in progress (docs/rollout-lifecycle.md): an execution of it is expected to be running. */
export const RolloutActive = z.enum(['created', 'running', 'awaiting-approval', 'stop-requested', 'rolling-back']);
export type RolloutActive = z.infer<typeof RolloutActive>;
/** A rollout's status: in progress, or how it ended (core/rollout-lifecycle.ts). */
export const RolloutStatus = z.enum([...RolloutActive.options, ...RolloutEnd.options]);
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
/** Why a whole policy cannot pass (its passes do not fit in its timeout), in words; null when it can. */
export function healthCheckProblem(p: { passes: number; intervalSeconds: number; timeoutSeconds: number }): string | null {
  const needs = p.passes * p.intervalSeconds;
  if (p.timeoutSeconds >= needs) return null;
  return `${p.passes} passes ${p.intervalSeconds} s apart take ${needs} s, more than timeoutSeconds ${p.timeoutSeconds}: raise timeoutSeconds to at least ${needs} or ask for fewer passes`;
}
export const HealthCheckPolicy = HealthCheckFields.superRefine((p, ctx) => {
  const problem = healthCheckProblem(p);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
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
