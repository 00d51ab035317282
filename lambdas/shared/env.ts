/**
 * One zod schema per function environment. The CDK constructs import the
 * same schemas to type the variables they set (`z.input<typeof X>` is a
 * record of strings), and the handlers parse `process.env` with them at the
 * first invocation, so a missing variable fails loudly, by name.
 *
 * AWS_REGION is not here: Lambda sets it and CDK refuses to. The endpoints
 * come from the SDK's own `AWS_ENDPOINT_URL_<SERVICE>` variables (the lab).
 */
import { z } from 'zod';

/** An integer variable with bounds and a default; input stays a string as Lambda env values are. */
const intVar = (min: number, max: number, fallback: number) =>
  z
    .string()
    .regex(/^[0-9]{1,10}$/, { message: 'must be a whole number' })
    .optional()
    .transform((v) => (v === undefined ? fallback : Number(v)))
    .pipe(z.number().int().min(min).max(max));

const boolVar = z
  .enum(['true', 'false'], { message: "must be 'true' or 'false'" })
  .optional()
  .transform((v) => v === 'true');

const BucketName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: 'must be an S3 bucket name' });
const LogLevel = z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT', 'CRITICAL']).optional();

export const SendStepEnv = z.object({
  /** Document name prefix, e.g. `Fleetwave-`: documents are `<prefix><PascalStep>`. */
  DOCUMENT_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'must be 1-64 of A-Z a-z 0-9 _ . -' }),
  /** Bucket SSM writes full command output to (`command-output/...`). */
  OUTPUT_BUCKET: BucketName,
  /** SSM TimeoutSeconds: how long a command may wait for the agent. SSM's minimum is 30. */
  DELIVERY_TIMEOUT_SECONDS: intVar(30, 2_592_000, 120),
  /** Added to delivery + execution timeouts to get poll-step's deadline. */
  DEADLINE_GRACE_SECONDS: intVar(0, 86_400, 120),
  /** send-step presigns the backup part PUTs and restore GETs right before sending. */
  BACKUP_BUCKET: BucketName,
  /** Lifetime of presigned URLs: short, at most one hour (later parts get their transfer time on top, capped at one hour). */
  PRESIGN_SECONDS: intVar(60, 3600, 900),
  /** `true` only against S3-compatible servers without virtual-hosted buckets (the lab's s3rver). */
  S3_FORCE_PATH_STYLE: boolVar,
  POWERTOOLS_LOG_LEVEL: LogLevel,
});

export const PollStepEnv = z.object({
  OUTPUT_BUCKET: BucketName,
  /** `true` only against S3-compatible servers without virtual-hosted buckets (the lab's s3rver). */
  S3_FORCE_PATH_STYLE: boolVar,
  POWERTOOLS_LOG_LEVEL: LogLevel,
});

export const PrepareBackupEnv = z.object({
  BACKUP_BUCKET: BucketName,
  /** Most UploadPart URLs handed to a host; with 8 MiB..5 GiB parts. */
  MAX_PARTS: intVar(1, 1000, 32),
  S3_FORCE_PATH_STYLE: boolVar,
  POWERTOOLS_LOG_LEVEL: LogLevel,
});

export const CompleteBackupEnv = z.object({
  BACKUP_BUCKET: BucketName,
  S3_FORCE_PATH_STYLE: boolVar,
  POWERTOOLS_LOG_LEVEL: LogLevel,
});

export type SendStepEnv = z.output<typeof SendStepEnv>;
export type PollStepEnv = z.output<typeof PollStepEnv>;
export type PrepareBackupEnv = z.output<typeof PrepareBackupEnv>;
export type CompleteBackupEnv = z.output<typeof CompleteBackupEnv>;

/** The environment as CDK sets it (all strings). */
export type EnvInput<S extends z.ZodType> = { [K in keyof z.input<S>]: z.input<S>[K] };

export class InvalidEnvironmentError extends Error {
  override readonly name = 'InvalidEnvironmentError';
  constructor(readonly variables: string[], detail: string) {
    super(`invalid Lambda environment: ${detail}`);
  }
}

/** Parses `env` (default `process.env`); the error names each missing or invalid variable, never its value. */
export function parseEnv<S extends z.ZodType>(schema: S, env: Record<string, string | undefined> = process.env): z.output<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const variables: string[] = [];
  const problems = parsed.error.issues.map((issue) => {
    const name = issue.path.map(String).join('.') || '(environment)';
    variables.push(name);
    return env[name] === undefined ? `${name} is missing` : `${name} is invalid (${issue.message})`;
  });
  throw new InvalidEnvironmentError(variables, problems.join('; '));
}
