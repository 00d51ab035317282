/**
 * The lab's Secrets Manager: `GetSecretValue` (by name or ARN, AWSCURRENT or
 * AWSPENDING) over the AWS JSON 1.1 protocol, from secrets the lab hands in.
 * Enough for the Lambda tasks that read the registry's credentials through a
 * secret, and for a rotation done the way a single-user rotation function
 * does it (`putPending`, change the password, `promotePending`).
 *
 * With `file`, every change is written there (0600) so a lab started again
 * on the same folder serves the values it had, a rotated password included.
 */
import { createHash, randomUUID } from 'node:crypto';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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
  /** Keep the secrets' current values in this file (read with `readPersistedSecrets`). */
  file?: string;
}

export interface LabSecrets {
  endpoint: string;
  /** The ARN the lab gave a secret (what a stack output would carry). */
  arnOf(name: string): string;
  /** Adds or replaces a secret; the new value gets a new version id and is AWSCURRENT. */
  putSecret(name: string, value: string | Record<string, unknown>): void;
  /** A rotation's first step (createSecret): a new version labelled AWSPENDING; AWSCURRENT unchanged. */
  putPending(name: string, value: string | Record<string, unknown>): void;
  /** A rotation's last step (finishSecret): the AWSPENDING version becomes AWSCURRENT. */
  promotePending(name: string): void;
  /** The AWSCURRENT value as the service would return it. */
  currentValue(name: string): string;
  close(): Promise<void>;
}

/** An ordinary SDK client pointed at a lab's Secrets Manager (the lab checks no signature). */
export function labSecretsClient(endpoint: string, region = 'us-east-1'): SecretsManagerClient {
  return new SecretsManagerClient({ endpoint, region, credentials: { accessKeyId: 'LAB', secretAccessKey: 'LAB' } });
}

/** The values a lab kept in `file` (name → SecretString), or none. */
export function readPersistedSecrets(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  return z.record(z.string(), z.string()).parse(JSON.parse(readFileSync(file, 'utf8')));
}

const GetSecretValueInput = z.object({
  SecretId: z.string().min(1).max(2048),
  VersionId: z.string().optional(),
  VersionStage: z.string().optional(),
});

interface SecretVersion {
  secretString: string;
  versionId: string;
  createdAt: number;
}

interface StoredSecret extends SecretVersion {
  name: string;
  arn: string;
  pending?: SecretVersion;
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
  const version = (value: string | Record<string, unknown>): SecretVersion => ({
    secretString: typeof value === 'string' ? value : JSON.stringify(value),
    versionId: randomUUID(),
    createdAt: Date.now(),
  });
  const persist = () => {
    if (!options.file) return;
    const values = Object.fromEntries([...byName.values()].map((s) => [s.name, s.secretString]));
    writeFileSync(`${options.file}.tmp`, JSON.stringify(values, null, 2), { mode: 0o600 });
    renameSync(`${options.file}.tmp`, options.file);
  };
  const put = (name: string, value: string | Record<string, unknown>) => {
    byName.set(name, { name, arn: labSecretArn(name, region, accountId), ...version(value) });
    persist();
  };
  const stored = (name: string): StoredSecret => {
    const secret = byName.get(name);
    if (!secret) throw new Error(`no lab secret named ${name}`);
    return secret;
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
        const stage = input.VersionStage ?? (input.VersionId !== undefined && input.VersionId === secret.pending?.versionId ? 'AWSPENDING' : 'AWSCURRENT');
        const found: SecretVersion | undefined = stage === 'AWSCURRENT' ? secret : stage === 'AWSPENDING' ? secret.pending : undefined;
        if (!found) {
          throw new AwsServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret value for staging label: " + stage);
        }
        if (input.VersionId !== undefined && input.VersionId !== found.versionId) {
          throw new AwsServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret value for VersionId: " + input.VersionId);
        }
        return {
          ARN: secret.arn,
          Name: secret.name,
          VersionId: found.versionId,
          SecretString: found.secretString,
          VersionStages: [stage],
          CreatedDate: epochSeconds(found.createdAt),
        };
      },
    },
  });

  return {
    endpoint: server.url,
    arnOf: (name) => stored(name).arn,
    putSecret: put,
    putPending: (name, value) => {
      stored(name).pending = version(value);
    },
    promotePending: (name) => {
      const secret = stored(name);
      if (!secret.pending) throw new Error(`lab secret ${name} has no AWSPENDING version to promote`);
      byName.set(name, { name, arn: secret.arn, ...secret.pending });
      persist();
    },
    currentValue: (name) => stored(name).secretString,
    close: () => server.close(),
  };
}
