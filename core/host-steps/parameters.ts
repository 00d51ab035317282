/**
 * Turns a host run and a step's extra inputs into the SSM `Parameters` of the
 * step's document (docs/contracts.md, "Host steps"). Every value is checked
 * against the same pattern the document declares as `allowedPattern`, so a
 * hostile value is refused here with a named error, before any command is
 * sent, and SSM's own check is the second line of defence, not the first.
 */
import { z } from 'zod';
import {
  COMPOSE_DIR_PATTERN,
  HEALTH_URL_PATTERN,
  SHA256_PATTERN,
  VERSION_PATTERN,
  DatabaseMode,
  HostStep,
  Sha256,
  Version,
  type HostRunContext,
} from '../models';
import { InvalidStepInputError } from './errors';

/** Counts and seconds (contracts.md). */
export const COUNT_PATTERN = /^[0-9]{1,5}$/;
export const MODE_PATTERN = /^(embedded|external)$/;
/** Transfers name the bucket, region, keys and upload id only: hosts sign with their own role (contracts.md). */
export const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
export const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$/;
export const BACKUP_KEY_PATTERN = /^backups\/[a-z0-9][a-z0-9-]{0,62}\/[a-z0-9][a-z0-9-]{0,62}\/(data\.tar\.gz|data\.pgdump|config\.tar\.gz)$/;
export const S3_ID_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,1023}$/;
/** An S3 version id, or `-` for the current object. */
export const VERSION_ID_PATTERN = /^(-|[A-Za-z0-9_][A-Za-z0-9._-]{0,1023})$/;

/** The `allowedPattern` of every parameter name the documents use. */
export const PARAMETER_PATTERNS = {
  ComposeDir: COMPOSE_DIR_PATTERN,
  Version: VERSION_PATTERN,
  TargetVersion: VERSION_PATTERN,
  HealthUrl: HEALTH_URL_PATTERN,
  Passes: COUNT_PATTERN,
  IntervalSeconds: COUNT_PATTERN,
  TimeoutSeconds: COUNT_PATTERN,
  PollSeconds: COUNT_PATTERN,
  MinFreeMb: COUNT_PATTERN,
  Bucket: BUCKET_PATTERN,
  Region: REGION_PATTERN,
  DataKey: BACKUP_KEY_PATTERN,
  ConfigKey: BACKUP_KEY_PATTERN,
  UploadId: S3_ID_PATTERN,
  PartSizeMb: COUNT_PATTERN,
  PartCount: COUNT_PATTERN,
  DataVersionId: VERSION_ID_PATTERN,
  ConfigVersionId: VERSION_ID_PATTERN,
  DataSha256: SHA256_PATTERN,
  ConfigSha256: SHA256_PATTERN,
  Mode: MODE_PATTERN,
} as const satisfies Record<string, RegExp>;
export type ParameterName = keyof typeof PARAMETER_PATTERNS;

/** Which parameters each step's document accepts; anything else is a wiring mistake. */
export const STEP_PARAMETERS: Record<HostStep, readonly ParameterName[]> = {
  preflight: ['ComposeDir', 'TargetVersion', 'MinFreeMb'],
  backup: ['ComposeDir', 'Bucket', 'Region', 'DataKey', 'ConfigKey', 'UploadId', 'PartSizeMb', 'PartCount'],
  'pull-images': ['ComposeDir', 'Version'],
  'pin-tags': ['ComposeDir', 'Version'],
  restart: ['ComposeDir'],
  'watch-schema': ['ComposeDir', 'TimeoutSeconds', 'PollSeconds'],
  'health-check': ['ComposeDir', 'Version', 'HealthUrl', 'Passes', 'IntervalSeconds', 'TimeoutSeconds'],
  restore: ['ComposeDir', 'Mode', 'Bucket', 'Region', 'DataKey', 'DataVersionId', 'DataSha256', 'ConfigKey', 'ConfigVersionId', 'ConfigSha256'],
  inventory: ['ComposeDir'],
};

/**
 * Upper bound of each step's execution time on the host, in seconds. It must
 * be at least the document's own `timeoutSeconds`: poll-step only uses it as
 * a safety net for a command SSM never finishes.
 */
export const STEP_EXECUTION_TIMEOUT_SECONDS: Record<HostStep, number> = {
  preflight: 300,
  backup: 7200,
  'pull-images': 1800,
  'pin-tags': 300,
  restart: 900,
  'watch-schema': 3600,
  'health-check': 3600,
  restore: 7200,
  inventory: 300,
};

/** `pull-images` → `PullImages`; the document is `<prefix><Pascal>` (contracts.md). */
export function pascalStepName(step: HostStep): string {
  return step
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

export function documentNameFor(step: HostStep, prefix: string): string {
  return `${prefix}${pascalStepName(step)}`;
}

const Bucket = z.string().regex(BUCKET_PATTERN, { message: 'bucket must be an S3 bucket name' });
const Region = z.string().regex(REGION_PATTERN, { message: 'region must be an AWS region name such as eu-west-1' });
const BackupKey = z.string().regex(BACKUP_KEY_PATTERN, { message: 'must be a backup key backups/<hostId>/<backupId>/(data.tar.gz|data.pgdump|config.tar.gz)' });
const VersionId = z.string().regex(S3_ID_PATTERN, { message: 'must be an S3 version id' });

/** Upload side of a backup: prepare-backup's target plus where the bucket is (other fields are ignored). */
export const BackupUploadTarget = z.looseObject({
  bucket: Bucket,
  region: Region,
  dataKey: BackupKey,
  configKey: BackupKey,
  uploadId: z.string().regex(S3_ID_PATTERN, { message: 'uploadId must be an S3 upload id' }),
  partSizeMb: z.number().int().min(5).max(5120),
  partCount: z.number().int().min(1).max(10_000),
});
export type BackupUploadTarget = z.infer<typeof BackupUploadTarget>;

/** Download side of a restore: keys, the versions verification read, and the sha256 the host must verify before touching anything. */
export const RestoreDownload = z.looseObject({
  bucket: Bucket,
  region: Region,
  dataKey: BackupKey,
  configKey: BackupKey,
  dataVersionId: VersionId.nullish(),
  configVersionId: VersionId.nullish(),
  dataSha256: Sha256,
  configSha256: Sha256,
  mode: DatabaseMode.optional(),
});
export type RestoreDownload = z.infer<typeof RestoreDownload>;

const Seconds = z.number().int().min(1).max(99_999);

/**
 * Per-step inputs that do not come from the run context. Unknown keys are
 * refused so that a state machine wiring mistake fails loudly.
 */
export const StepExtra = z.strictObject({
  /** Overrides the version the step works with, e.g. health-check after a restore verifies `fromVersion`. */
  version: Version.optional(),
  /** preflight's name for the same thing. */
  targetVersion: Version.optional(),
  passes: z.number().int().min(1).max(1000).optional(),
  intervalSeconds: Seconds.optional(),
  /** watch-schema / health-check: how long to keep trying on the host. */
  timeoutSeconds: Seconds.optional(),
  pollSeconds: Seconds.optional(),
  minFreeMb: z.number().int().min(0).max(99_999).optional(),
  /**
   * backup: prepare-backup's target (`target`, or `backup`). restore: the
   * backup to restore (`backup`, or `restore`). send-step adds the bucket
   * and region (resolveTransfers) after checking the keys are the host's.
   */
  target: z.unknown().optional(),
  backup: z.unknown().optional(),
  restore: z.unknown().optional(),
});
export type StepExtra = z.infer<typeof StepExtra>;

/** The transfer object of a backup or restore step, whichever key the state machine used. */
export function transferOf(step: HostStep, extra: StepExtra): unknown {
  if (step === 'backup') return extra.target ?? extra.backup;
  if (step === 'restore') return extra.backup ?? extra.restore;
  return undefined;
}

/** Names of the fields a zod error refers to, never the values. */
function issuePaths(error: z.ZodError, root: string): string[] {
  return error.issues.map((i) => [root, ...i.path.map(String)].join('.'));
}

/**
 * Parameters of `step`'s document for this run. Throws InvalidStepInputError
 * (listing field names only) when any value is missing or would not pass the
 * document's allowedPattern.
 */
export function buildStepParameters(
  step: HostStep,
  run: HostRunContext,
  extraInput: unknown = {},
): Record<string, string[]> {
  const parsedExtra = StepExtra.safeParse(extraInput ?? {});
  if (!parsedExtra.success) {
    const fields = issuePaths(parsedExtra.error, 'extra');
    throw new InvalidStepInputError(`invalid extra input for step ${step}: ${fields.join(', ')}`, fields);
  }
  const extra = parsedExtra.data;
  const accepted = new Set<ParameterName>(STEP_PARAMETERS[step]);
  const params: Partial<Record<ParameterName, string[]>> = {};
  if (extra.version && extra.targetVersion && extra.version !== extra.targetVersion) {
    throw new InvalidStepInputError('extra.version and extra.targetVersion differ', ['extra.version', 'extra.targetVersion']);
  }
  const versionOverride = extra.version ?? extra.targetVersion;
  const version = versionOverride ?? run.targetVersion;

  const set = (name: ParameterName, values: string | string[] | undefined) => {
    if (values === undefined) return;
    if (!accepted.has(name)) {
      throw new InvalidStepInputError(`step ${step} takes no parameter ${name}`, [name]);
    }
    params[name] = Array.isArray(values) ? values : [values];
  };
  const count = (n: number | undefined) => (n === undefined ? undefined : String(n));

  set('ComposeDir', run.composeDir);
  if (accepted.has('TargetVersion')) set('TargetVersion', version);
  if (accepted.has('Version')) set('Version', version);
  if (accepted.has('HealthUrl')) set('HealthUrl', run.healthUrl);
  if (versionOverride !== undefined && !accepted.has('Version') && !accepted.has('TargetVersion')) {
    throw new InvalidStepInputError(`step ${step} takes no version`, ['extra.version']);
  }
  // health-check follows the run's policy unless the state machine says otherwise
  const policy = step === 'health-check' ? run.healthCheck : undefined;
  set('Passes', count(extra.passes ?? policy?.passes));
  set('IntervalSeconds', count(extra.intervalSeconds ?? policy?.intervalSeconds));
  set('TimeoutSeconds', count(extra.timeoutSeconds ?? policy?.timeoutSeconds));
  set('PollSeconds', count(extra.pollSeconds));
  set('MinFreeMb', count(extra.minFreeMb));

  const transfer = transferOf(step, extra);
  if (step !== 'backup' && step !== 'restore' && (extra.target ?? extra.backup ?? extra.restore) !== undefined) {
    throw new InvalidStepInputError(`step ${step} takes no backup or restore input`, ['extra']);
  }
  if (step === 'backup') {
    const upload = BackupUploadTarget.safeParse(transfer);
    if (!upload.success) {
      const fields = issuePaths(upload.error, 'extra.target');
      throw new InvalidStepInputError(`step backup needs the prepare-backup target and the bucket: ${fields.join(', ')}`, fields);
    }
    const u = upload.data;
    set('Bucket', u.bucket);
    set('Region', u.region);
    set('DataKey', u.dataKey);
    set('ConfigKey', u.configKey);
    set('UploadId', u.uploadId);
    set('PartSizeMb', String(u.partSizeMb));
    set('PartCount', String(u.partCount));
  }
  if (step === 'restore') {
    const download = RestoreDownload.safeParse(transfer);
    if (!download.success) {
      const fields = issuePaths(download.error, 'extra.backup');
      throw new InvalidStepInputError(`step restore needs the backup's keys, sha256 and the bucket: ${fields.join(', ')}`, fields);
    }
    const d = download.data;
    set('Bucket', d.bucket);
    set('Region', d.region);
    set('DataKey', d.dataKey);
    set('DataVersionId', d.dataVersionId ?? '-');
    set('ConfigKey', d.configKey);
    set('ConfigVersionId', d.configVersionId ?? '-');
    set('DataSha256', d.dataSha256);
    set('ConfigSha256', d.configSha256);
    set('Mode', d.mode ?? run.mode);
  }

  // Last line of defence: the exact patterns the documents declare.
  const refused = Object.entries(params)
    .filter(([name, values]) => values!.some((v) => !PARAMETER_PATTERNS[name as ParameterName].test(v)))
    .map(([name]) => name);
  if (refused.length > 0) {
    throw new InvalidStepInputError(
      `step ${step}: parameter(s) ${refused.join(', ')} would not pass the document's allowedPattern`,
      refused,
    );
  }
  return params as Record<string, string[]>;
}
