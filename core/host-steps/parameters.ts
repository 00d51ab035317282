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
/** Presigned URLs travel base64url-encoded without padding (contracts.md). */
export const BASE64URL_PATTERN = /^[A-Za-z0-9_-]{20,8192}$/;
export const MODE_PATTERN = /^(embedded|external)$/;

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
  DataPartUrls: BASE64URL_PATTERN,
  PartSizeMb: COUNT_PATTERN,
  ConfigUrl: BASE64URL_PATTERN,
  DataUrl: BASE64URL_PATTERN,
  DataSha256: SHA256_PATTERN,
  ConfigSha256: SHA256_PATTERN,
  Mode: MODE_PATTERN,
} as const satisfies Record<string, RegExp>;
export type ParameterName = keyof typeof PARAMETER_PATTERNS;

/** Which parameters each step's document accepts; anything else is a wiring mistake. */
export const STEP_PARAMETERS: Record<HostStep, readonly ParameterName[]> = {
  preflight: ['ComposeDir', 'TargetVersion', 'MinFreeMb'],
  backup: ['ComposeDir', 'DataPartUrls', 'PartSizeMb', 'ConfigUrl'],
  'pull-images': ['ComposeDir', 'Version'],
  'pin-tags': ['ComposeDir', 'Version'],
  restart: ['ComposeDir'],
  'watch-schema': ['ComposeDir', 'TimeoutSeconds', 'PollSeconds'],
  'health-check': ['ComposeDir', 'Version', 'HealthUrl', 'Passes', 'IntervalSeconds', 'TimeoutSeconds'],
  restore: ['ComposeDir', 'Mode', 'DataUrl', 'ConfigUrl', 'DataSha256', 'ConfigSha256'],
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

/**
 * A presigned URL as it arrives from prepare-backup: http(s), host, and a
 * percent-encoded path and query (what the SDK's presigner produces), short enough that its base64url form fits the document pattern (8192 chars).
 */
const PresignedUrl = z
  .string()
  .max(6000, { message: 'presigned URL longer than 6000 characters' })
  .regex(/^https?:\/\/[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?\/[A-Za-z0-9._~\/%-]*(\?[A-Za-z0-9._~%&=-]*)?$/, {
    message: 'presigned URL must be http(s) with a percent-encoded path and query only',
  });

/** Upload side of a backup, as returned by prepare-backup (other fields of that object are ignored). */
export const BackupUploadTarget = z.looseObject({
  partUrls: z.array(PresignedUrl).min(1).max(10_000),
  partSizeMb: z.number().int().min(5).max(5120),
  configUrl: PresignedUrl,
});
export type BackupUploadTarget = z.infer<typeof BackupUploadTarget>;

/** Download side of a restore: presigned GETs plus the sha256 the host must verify before touching anything. */
export const RestoreDownload = z.looseObject({
  dataUrl: PresignedUrl,
  configUrl: PresignedUrl,
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
   * backup to restore (`backup`, or `restore`). Without URLs they are
   * presigned by send-step (resolveTransferUrls) just before sending.
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

export function base64url(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64url');
}

/** Names of the fields a zod error refers to, never the values (they may be presigned URLs). */
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
      throw new InvalidStepInputError(`step backup needs the prepare-backup target with presigned URLs: ${fields.join(', ')}`, fields);
    }
    set('DataPartUrls', upload.data.partUrls.map(base64url));
    set('PartSizeMb', String(upload.data.partSizeMb));
    set('ConfigUrl', base64url(upload.data.configUrl));
  }
  if (step === 'restore') {
    const download = RestoreDownload.safeParse(transfer);
    if (!download.success) {
      const fields = issuePaths(download.error, 'extra.backup');
      throw new InvalidStepInputError(`step restore needs the backup with presigned URLs and sha256: ${fields.join(', ')}`, fields);
    }
    set('DataUrl', base64url(download.data.dataUrl));
    set('ConfigUrl', base64url(download.data.configUrl));
    set('DataSha256', download.data.dataSha256);
    set('ConfigSha256', download.data.configSha256);
    set('Mode', download.data.mode ?? run.mode);
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
