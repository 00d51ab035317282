/**
 * Where the CLI points: the lab (lab-data/lab.json, written by `lab up`) or
 * AWS (a config file with the stack's outputs). Either way the CLI uses the
 * ordinary AWS SDK clients; for the lab only the `AWS_ENDPOINT_URL_*`
 * variables and the dummy credentials differ.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

export const LabFile = z.object({
  version: z.literal(1),
  pid: z.number().int(),
  dir: z.string(),
  region: z.string(),
  credentials: z.object({ accessKeyId: z.string(), secretAccessKey: z.string() }),
  endpoints: z.object({ sfn: z.string(), ssm: z.string(), s3: z.string(), secretsManager: z.string(), sns: z.string(), api: z.string().optional() }),
  /** The console and the lab user pool's operator (lab/api.ts, lab/cognito.ts). */
  console: z.object({ url: z.string(), username: z.string(), password: z.string() }).optional(),
  databaseUrl: z.string(),
  stateMachines: z.record(z.string(), z.string()),
  backupBucket: z.string(),
  hosts: z.array(z.object({ id: z.string(), root: z.string(), instanceId: z.string(), mode: z.string(), healthUrl: z.string() })).default([]),
});
export type LabFile = z.infer<typeof LabFile>;

export const AwsTarget = z.object({
  region: z.string(),
  /** Registry URL for reads and fleet apply (through a bastion or VPN). */
  databaseUrl: z.string(),
  stateMachines: z.object({ hostUpgrade: z.string(), hostRollback: z.string() }).catchall(z.string()),
  backupBucket: z.string(),
});

export interface Target {
  kind: 'lab' | 'aws';
  region: string;
  databaseUrl: string;
  stateMachines: Record<string, string>;
  backupBucket: string;
  lab?: LabFile;
}

export class NoTargetError extends Error {
  override name = 'NoTargetError';
}

export function labDir(): string {
  return resolve(process.env.FLEETWAVE_LAB_DIR ?? 'lab-data');
}

export function readLabFile(dir = labDir()): LabFile | null {
  const file = resolve(dir, 'lab.json');
  if (!existsSync(file)) return null;
  return LabFile.parse(JSON.parse(readFileSync(file, 'utf8')));
}

/** Point the SDK at the lab: the same variables an operator would set by hand. */
export function applyLabEnvironment(lab: LabFile, env: NodeJS.ProcessEnv = process.env): void {
  env.AWS_REGION = lab.region;
  env.AWS_ACCESS_KEY_ID = lab.credentials.accessKeyId;
  env.AWS_SECRET_ACCESS_KEY = lab.credentials.secretAccessKey;
  delete env.AWS_SESSION_TOKEN;
  delete env.AWS_PROFILE;
  env.AWS_ENDPOINT_URL_SFN = lab.endpoints.sfn;
  env.AWS_ENDPOINT_URL_SSM = lab.endpoints.ssm;
  env.AWS_ENDPOINT_URL_S3 = lab.endpoints.s3;
  env.AWS_ENDPOINT_URL_SECRETS_MANAGER = lab.endpoints.secretsManager;
  env.AWS_ENDPOINT_URL_SNS = lab.endpoints.sns;
  env.S3_FORCE_PATH_STYLE = 'true';
}

export function resolveTarget(): Target {
  const configFile = process.env.FLEETWAVE_CONFIG;
  if (configFile) {
    const cfg = AwsTarget.parse(JSON.parse(readFileSync(configFile, 'utf8')));
    return { kind: 'aws', ...cfg };
  }
  const lab = readLabFile();
  if (!lab) {
    throw new NoTargetError(
      `no lab is running (${resolve(labDir(), 'lab.json')} not found) and FLEETWAVE_CONFIG is not set: run \`fleetwave lab up\` or point FLEETWAVE_CONFIG at your stack's config`,
    );
  }
  applyLabEnvironment(lab);
  return { kind: 'lab', region: lab.region, databaseUrl: lab.databaseUrl, stateMachines: lab.stateMachines, backupBucket: lab.backupBucket, lab };
}
