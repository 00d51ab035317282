/**
 * The lab's Secrets Manager: `GetSecretValue` (by name or ARN) over the AWS
 * JSON 1.1 protocol, from secrets the lab hands in. Enough for the Lambda
 * tasks that read the registry's database URL through a secret.
 */
import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AwsServiceError, epochSeconds, startAwsJsonServer } from './aws-json';

export interface LabSecret {
  /** SecretString, or an object that is stored as its JSON text. */
  value: string | Record<string, unknown>;
}

export interface StartSecretsOptions {
  /** Secret name → value. */
  secrets: Map<string, string | Record<string, unknown>> | Record<string, string | Record<string, unknown>>;
  port?: number;
  region?: string;
  accountId?: string;
}

export interface LabSecrets {
  endpoint: string;
  /** The ARN the lab gave a secret (what a stack output would carry). */
  arnOf(name: string): string;
  /** Adds or replaces a secret; the new value gets a new version id. */
  putSecret(name: string, value: string | Record<string, unknown>): void;
  close(): Promise<void>;
}

const GetSecretValueInput = z.object({
  SecretId: z.string().min(1).max(2048),
  VersionId: z.string().optional(),
  VersionStage: z.string().optional(),
});

interface StoredSecret {
  name: string;
  arn: string;
  secretString: string;
  versionId: string;
  createdAt: number;
}

const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * Real ARNs end in `-` plus six random characters, so clients must not build
 * them from names. The lab derives the six from the name instead: every lab
 * then gives a secret the same ARN, so an app synthesized once (pointed at
 * the registry secret's ARN) fits any lab; each lab still serves its own
 * values from its own endpoint.
 */
export function labSecretArn(name: string, region: string, accountId: string): string {
  const digest = createHash('sha256').update(name).digest();
  const suffix = Array.from(digest.subarray(0, 6), (b) => SUFFIX_ALPHABET[b % SUFFIX_ALPHABET.length]).join('');
  return `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-${suffix}`;
}

export async function startSecretsManager(options: StartSecretsOptions): Promise<LabSecrets> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const byName = new Map<string, StoredSecret>();
  const put = (name: string, value: string | Record<string, unknown>) => {
    byName.set(name, {
      name,
      arn: labSecretArn(name, region, accountId),
      secretString: typeof value === 'string' ? value : JSON.stringify(value),
      versionId: randomUUID(),
      createdAt: Date.now(),
    });
  };
  const entries = options.secrets instanceof Map ? [...options.secrets] : Object.entries(options.secrets);
  for (const [name, value] of entries) put(name, value);

  const find = (secretId: string): StoredSecret | undefined => {
    const direct = byName.get(secretId);
    if (direct) return direct;
    // By full ARN, or by the ARN without its random suffix (partial ARN), as the service allows.
    for (const secret of byName.values()) {
      if (secret.arn === secretId || secret.arn.slice(0, -7) === secretId) return secret;
    }
    return undefined;
  };

  const server = await startAwsJsonServer({
    targetPrefix: 'secretsmanager',
    port: options.port,
    operations: {
      GetSecretValue: (raw: unknown) => {
        const parsed = GetSecretValueInput.safeParse(raw);
        if (!parsed.success) throw new AwsServiceError('ValidationException', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
        const input = parsed.data;
        const secret = find(input.SecretId);
        if (!secret) throw new AwsServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
        if (input.VersionId !== undefined && input.VersionId !== secret.versionId) {
          throw new AwsServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret value for VersionId: " + input.VersionId);
        }
        if (input.VersionStage !== undefined && input.VersionStage !== 'AWSCURRENT') {
          throw new AwsServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret value for staging label: " + input.VersionStage);
        }
        return {
          ARN: secret.arn,
          Name: secret.name,
          VersionId: secret.versionId,
          SecretString: secret.secretString,
          VersionStages: ['AWSCURRENT'],
          CreatedDate: epochSeconds(secret.createdAt),
        };
      },
    },
  });

  return {
    endpoint: server.url,
    arnOf: (name) => {
      const secret = byName.get(name);
      if (!secret) throw new Error(`no lab secret named ${name}`);
      return secret.arn;
    },
    putSecret: put,
    close: () => server.close(),
  };
}
