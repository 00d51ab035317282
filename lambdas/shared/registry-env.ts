/**
 * Environment of the task functions that touch the registry. The same
 * schemas are checked by CDK when it builds the functions and by the
 * handlers when they start.
 */
import { z } from 'zod';

const seconds = z.coerce.number().int().positive();

export const RegistryEnv = z.object({
  /** Secrets Manager secret with host, port, username, password, dbname. */
  REGISTRY_SECRET_ARN: z.string().min(1),
  /** Seconds a host lease lasts before another execution may take it over. */
  LEASE_TTL_SECONDS: seconds.default(4 * 3600),
  POWERTOOLS_SERVICE_NAME: z.string().default('fleetwave'),
  NODE_EXTRA_CA_CERTS: z.string().optional(),
});

export const BeginRunEnv = RegistryEnv;
export const RecordStepEnv = RegistryEnv;
export const FinishRunEnv = RegistryEnv.extend({
  /** SNS topic for rollback failures. */
  ALERT_TOPIC_ARN: z.string().min(1),
});
export type RegistryEnv = z.infer<typeof RegistryEnv>;
export type FinishRunEnv = z.infer<typeof FinishRunEnv>;
