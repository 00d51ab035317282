/**
 * Environments of the compliance functions: one zod schema each, checked by
 * CDK at synth (lib/compliance.ts) and by the handlers at start.
 */
import { z } from 'zod';
import { RegistryEnv } from '../shared/registry-env';

const BucketName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: 'must be an S3 bucket name' });
const boolVar = z
  .enum(['true', 'false'], { message: "must be 'true' or 'false'" })
  .optional()
  .transform((v) => v === 'true');
const intVar = (min: number, max: number, fallback: number) =>
  z
    .string()
    .regex(/^[0-9]{1,10}$/, { message: 'must be a whole number' })
    .optional()
    .transform((v) => (v === undefined ? fallback : Number(v)))
    .pipe(z.number().int().min(min).max(max));
/** SSM's MaxConcurrency / MaxErrors syntax: a count or a percentage. */
const SsmRate = z.string().regex(/^([1-9][0-9]{0,3}|[1-9][0-9]?%|100%|0)$/, { message: 'must be a count or a percentage' });
const LogLevel = z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT', 'CRITICAL']).optional();

const S3Env = {
  /** Bucket holding plans, batch results and reports under `compliance/` (the backup bucket). */
  REPORT_BUCKET: BucketName,
  /** `true` only against S3-compatible servers without virtual-hosted buckets (the lab's s3rver). */
  S3_FORCE_PATH_STYLE: boolVar,
  POWERTOOLS_LOG_LEVEL: LogLevel,
};

export const CompliancePlanEnv = RegistryEnv.extend(S3Env);

export const ComplianceSendEnv = z.object({
  ...S3Env,
  /** Bucket SSM writes full command output to (`command-output/...`). */
  OUTPUT_BUCKET: BucketName,
  /** Full name of the inventory document, e.g. `Fleetwave-Inventory`. */
  INVENTORY_DOCUMENT: z.string().regex(/^[A-Za-z0-9_.-]{3,128}$/, { message: 'must be an SSM document name' }),
  /** SSM TimeoutSeconds: how long the command may wait for an agent (SSM's minimum is 30). */
  DELIVERY_TIMEOUT_SECONDS: intVar(30, 2_592_000, 120),
  /** SSM's own rate control across a batch's instances. */
  SSM_MAX_CONCURRENCY: SsmRate.default('10'),
  /** Keep going whatever fails: every host's answer is wanted. */
  SSM_MAX_ERRORS: SsmRate.default('100%'),
});

export const ComplianceCollectEnv = z.object({ ...S3Env, OUTPUT_BUCKET: BucketName });

export const ComplianceFinishEnv = RegistryEnv.extend({
  ...S3Env,
  /** The alert topic: drift appeared / cleared. */
  ALERT_TOPIC_ARN: z.string().min(1),
});
