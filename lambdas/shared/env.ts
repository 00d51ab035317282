/**
 * Every Lambda environment, one zod schema per function, in one place. The
 * CDK constructs (lib/) import the same schemas: FleetwaveFunction checks at
 * synth that every required variable is set, and the task scaffold
 * (lambdas/shared/task.ts) parses `process.env` with them on the first
 * invocation, so a missing variable fails loudly, by name, never by value.
 *
 * AWS_REGION is not here: Lambda sets it and CDK refuses to. Endpoints come
 * from the SDK's own `AWS_ENDPOINT_URL_<SERVICE>` variables (the lab).
 */
import { z } from 'zod';
import { InvalidEnvironmentError } from '../../core/errors';

// ── variable shapes ─────────────────────────────────────────────────────────
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
/** SSM's MaxConcurrency / MaxErrors syntax: a count or a percentage. */
const SsmRate = z.string().regex(/^([1-9][0-9]{0,3}|[1-9][0-9]?%|100%|0)$/, { message: 'must be a count or a percentage' });

/**
 * Document name → the version of it the stack deployed, as JSON
 * (`{"Fleetwave-Preflight":"3",…}`; lib/host-documents.ts reads each from
 * DescribeDocument after the deployment). SendCommand names this version, never `$DEFAULT`.
 */
const DocumentVersions = z
  .string({ message: 'must be a JSON object of document names and versions' })
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object of document names and versions' });
      return z.NEVER;
    }
  })
  .pipe(
    z.record(
      z.string().regex(/^[A-Za-z0-9_.-]{3,128}$/, { message: 'each key must be an SSM document name' }),
      z.string().regex(/^[1-9][0-9]{0,9}$/, { message: 'each version must be a document version number like 3' }),
      { message: 'must be a JSON object of document names and versions' },
    ),
  );

/** Every function: log level and, for S3 users, path-style addressing. */
const Common = { POWERTOOLS_LOG_LEVEL: LogLevel };
/** `true` only against S3-compatible servers without virtual-hosted buckets (the lab's s3rver). */
const S3Style = { S3_FORCE_PATH_STYLE: boolVar };

// ── registry tasks ──────────────────────────────────────────────────────────
export const RegistryEnv = z.object({
  ...Common,
  /** Secrets Manager secret with host, port, username, password, dbname. */
  REGISTRY_SECRET_ARN: z.string().min(1),
  /** Seconds a host lease lasts before another execution may take it over. */
  LEASE_TTL_SECONDS: intVar(1, 7 * 24 * 3600, 4 * 3600),
  POWERTOOLS_SERVICE_NAME: z.string().default('fleetwave'),
  NODE_EXTRA_CA_CERTS: z.string().optional(),
});
export const BeginRunEnv = RegistryEnv;
export const RecordStepEnv = RegistryEnv;
/** finish-run and the rollout tasks also alert. */
export const FinishRunEnv = RegistryEnv.extend({ ALERT_TOPIC_ARN: z.string().min(1) });
export const RolloutEnv = FinishRunEnv;

// ── host-step tasks ─────────────────────────────────────────────────────────
/** send-step records each step's task token in the registry (step_waits), hence the registry variables. */
export const SendStepEnv = RegistryEnv.extend({
  ...S3Style,
  /** Document name prefix, e.g. `Fleetwave-`: documents are `<prefix><PascalStep>`. */
  DOCUMENT_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'must be 1-64 of A-Z a-z 0-9 _ . -' }),
  /** Bucket SSM writes full command output to (`command-output/...`). */
  OUTPUT_BUCKET: BucketName,
  /** SSM TimeoutSeconds: how long a command may wait for the agent. SSM's minimum is 30. */
  DELIVERY_TIMEOUT_SECONDS: intVar(30, 2_592_000, 120),
  /** Added to delivery + execution timeouts to get poll-step's deadline. */
  DEADLINE_GRACE_SECONDS: intVar(0, 86_400, 120),
  /** The bucket backup and restore commands name; hosts sign their own requests to it. */
  BACKUP_BUCKET: BucketName,
  /** The deployed version of every host document; SendCommand names it. */
  DOCUMENT_VERSIONS: DocumentVersions,
});

/** run-events: answers host steps' task tokens (it reads command output as poll-step does) and finishes runs whose execution ended. */
export const RunEventsEnv = FinishRunEnv.extend({ ...S3Style, OUTPUT_BUCKET: BucketName });

export const PrepareBackupEnv = z.object({
  ...Common,
  ...S3Style,
  BACKUP_BUCKET: BucketName,
  /** Most UploadPart URLs handed to a host; with 8 MiB..5 GiB parts. */
  MAX_PARTS: intVar(1, 1000, 32),
});

export const CompleteBackupEnv = z.object({ ...Common, ...S3Style, BACKUP_BUCKET: BucketName });

// ── compliance tasks ────────────────────────────────────────────────────────
const ReportBucket = {
  ...S3Style,
  /** Bucket holding plans, batch results and reports under `compliance/` (the backup bucket). */
  REPORT_BUCKET: BucketName,
};

export const CompliancePlanEnv = RegistryEnv.extend(ReportBucket);

export const ComplianceSendEnv = z.object({
  ...Common,
  ...ReportBucket,
  /** Bucket SSM writes full command output to (`command-output/...`). */
  OUTPUT_BUCKET: BucketName,
  /** Full name of the inventory document, e.g. `Fleetwave-Inventory`. */
  INVENTORY_DOCUMENT: z.string().regex(/^[A-Za-z0-9_.-]{3,128}$/, { message: 'must be an SSM document name' }),
  /** The deployed version of the inventory document; SendCommand names it. */
  DOCUMENT_VERSIONS: DocumentVersions,
  /** SSM TimeoutSeconds: how long the command may wait for an agent (SSM's minimum is 30). */
  DELIVERY_TIMEOUT_SECONDS: intVar(30, 2_592_000, 120),
  /** SSM's own rate control across a batch's instances. */
  SSM_MAX_CONCURRENCY: SsmRate.default('10'),
  /** Keep going whatever fails: every host's answer is wanted. */
  SSM_MAX_ERRORS: SsmRate.default('100%'),
});

export const ComplianceCollectEnv = z.object({ ...Common, ...ReportBucket, OUTPUT_BUCKET: BucketName });

export const ComplianceFinishEnv = RegistryEnv.extend({
  ...ReportBucket,
  /** The alert topic: drift appeared / cleared. */
  ALERT_TOPIC_ARN: z.string().min(1),
});

export type RegistryEnv = z.output<typeof RegistryEnv>;
export type FinishRunEnv = z.output<typeof FinishRunEnv>;
export type SendStepEnv = z.output<typeof SendStepEnv>;
export type RunEventsEnv = z.output<typeof RunEventsEnv>;
export type PrepareBackupEnv = z.output<typeof PrepareBackupEnv>;
export type CompleteBackupEnv = z.output<typeof CompleteBackupEnv>;

/** Parses `env` (default `process.env`); the error names each missing or invalid variable, never its value. */
export function parseEnv<S extends z.ZodType>(schema: S, env: Record<string, string | undefined> = process.env): z.output<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  // the variable is the issue's first path element (a JSON variable's issues go deeper)
  const variables = parsed.error.issues.map((issue) => (issue.path.length > 0 ? String(issue.path[0]) : '(environment)'));
  const problems = parsed.error.issues.map((issue, n) =>
    env[variables[n]!] === undefined ? `${variables[n]} is missing` : `${variables[n]} is invalid (${issue.message})`,
  );
  throw new InvalidEnvironmentError(variables, problems.join('; '));
}

// ── operator API ────────────────────────────────────────────────────────────
const StateMachineArn = z.string().regex(/^arn:[a-z-]+:states:[a-z0-9-]*:[0-9]*:stateMachine:[A-Za-z0-9_-]{1,80}$/, { message: 'must be a state machine ARN' });
/** The operator API: the registry, the state machines its actions start, and the origins its console is served from. */
export const OperatorApiEnv = RegistryEnv.extend({
  HOST_UPGRADE_ARN: StateMachineArn,
  HOST_ROLLBACK_ARN: StateMachineArn,
  FLEET_ROLLOUT_ARN: StateMachineArn,
  ROLLOUT_ROLLBACK_ARN: StateMachineArn,
  COMPLIANCE_CHECK_ARN: StateMachineArn,
  /** Comma-separated origins whose pages may send actions (the console's); any other Origin is refused. */
  CONSOLE_ORIGINS: z.string().max(4000).default(''),
});
export type OperatorApiEnv = z.output<typeof OperatorApiEnv>;
