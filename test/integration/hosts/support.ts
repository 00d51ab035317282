/**
 * Runs the composed SSM documents the way the lab's agent does: runCommand
 * written to a file, `sh file` in a temp working dir, parameters as SSM_*
 * environment variables, the lab bin dir first on PATH and
 * FLEETWAVE_HOST_ROOT naming the simulated host. Plus the lab's S3 (SigV4,
 * session tokens, SHA-256 checksums) and, for the host, its own role session
 * in a shared credentials file, as SSM Agent keeps it on a managed node; the
 * backup and restore steps get only bucket, region, keys and upload id.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { HostStep } from '../../../core/models';
import { hostEnv } from '../../../lab/hosts';
import { LAB_HOST_ROLE_ARN } from '../../../lab/hosts/credentials';
import { paths } from '../../../lab/hosts/state';
import type { LabClock } from '../../../lab/clock';
import { labS3Client, labSts, startS3 as startLabS3, type LabS3 } from '../../../lab/s3';
import type { LabSts } from '../../../lab/sts';
import { loadDocument } from '../../../ssm-documents';

export interface StepRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The JSON result line (last line of stdout). */
  result: Record<string, any>;
}

export const b64url = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
export const REGION = 'us-east-1';

/** The S3 the host scripts talk to (set by startS3): its endpoint and STS. */
let activeS3: LabS3 | null = null;

/** A role session for the host, written as SSM Agent writes it; the host's env points at it and at the S3. */
function hostS3Env(work: string, credentialsFile?: string): Record<string, string> {
  if (!activeS3) return {};
  if (credentialsFile) return { AWS_ENDPOINT_URL_S3: activeS3.endpoint, AWS_SHARED_CREDENTIALS_FILE: credentialsFile };
  const c = activeS3.sts.assumeRole({ roleArn: LAB_HOST_ROLE_ARN, sessionName: 'mi-0123456789abcdef0', access: { objectPrefixes: ['backups/'] } });
  const file = join(work, 'credentials');
  writeFileSync(file, `[default]\naws_access_key_id = ${c.accessKeyId}\naws_secret_access_key = ${c.secretAccessKey}\naws_session_token = ${c.sessionToken}\n`, { mode: 0o600 });
  return { AWS_ENDPOINT_URL_S3: activeS3.endpoint, AWS_SHARED_CREDENTIALS_FILE: file };
}

/** Run one step's document against a host, exactly as the lab agent would. */
export async function runStep(
  step: HostStep,
  root: string,
  params: Record<string, string | string[]>,
  /** The host's credentials file, kept by the test (default: a fresh session for this run). */
  opts: { credentialsFile?: string } = {},
): Promise<StepRun> {
  const doc = loadDocument(step);
  const work = mkdtempSync(join(tmpdir(), `fw-ssm-${step}-`));
  const script = join(work, '_script.sh');
  writeFileSync(script, doc.mainSteps[0].inputs.runCommand.join('\n') + '\n');
  const env: NodeJS.ProcessEnv = { HOME: process.env.HOME, LANG: 'C.UTF-8', TMPDIR: work, ...(await hostEnv(root)), ...hostS3Env(work, opts.credentialsFile) };
  for (const [k, v] of Object.entries(params)) env[`SSM_${k}`] = Array.isArray(v) ? v.join(',') : v;
  try {
    return await new Promise<StepRun>((resolve, reject) => {
      const child = spawn('sh', [script], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        const last = stdout.trimEnd().split('\n').pop() ?? '';
        let result: Record<string, any>;
        try {
          result = JSON.parse(last) as Record<string, any>;
        } catch {
          reject(new Error(`${step}: last stdout line is not JSON (exit ${code}):\n${stdout}\n--- stderr\n${stderr}`));
          return;
        }
        resolve({ code: code ?? -1, stdout, stderr, result });
      });
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Every `docker run` the host's scripts made (the lab's docker logs every call): image and command. */
export function dockerRuns(root: string): { image: string; command: string[] }[] {
  const valued = new Set(['-v', '--volume', '-e', '--env', '--network', '--net', '-w', '--workdir', '--name', '--user', '-u']);
  return readFileSync(join(paths(root).state, 'docker-calls.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as string[])
    .filter((argv) => argv[0] === 'run')
    .map((argv) => {
      for (let i = 1; i < argv.length; i++) {
        if (valued.has(argv[i]!)) i++;
        else if (!argv[i]!.startsWith('-')) return { image: argv[i]!, command: argv.slice(i + 1) };
      }
      return { image: '', command: [] };
    });
}
// ------------------------------------------------------------------ S3

export const BUCKET = 'backups';

export interface TestS3 {
  client: S3Client;
  /** Whose sessions the server accepts. */
  sts: LabSts;
  close(): Promise<void>;
}

/** The lab's S3 on a free port, and a client for it (the lab user's keys). */
export async function startS3(opts: { clock?: LabClock } = {}): Promise<TestS3> {
  const directory = mkdtempSync(join(tmpdir(), 'fw-s3-'));
  const server = await startLabS3({ directory, buckets: [BUCKET], ...(opts.clock ? { clock: opts.clock, sts: labSts(opts.clock) } : {}) });
  activeS3 = server;
  const client = labS3Client(server.endpoint);
  return {
    client,
    sts: server.sts,
    async close() {
      client.destroy();
      if (activeS3 === server) activeS3 = null;
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

export interface BackupTarget {
  dataKey: string;
  configKey: string;
  uploadId: string;
  /** Parameters of the backup document: where to upload, nothing that grants access. */
  params: Record<string, string | string[]>;
}

/** What prepare-backup does: a multipart upload with SHA-256 part checksums. */
export async function prepareBackup(s3: TestS3, name: string, parts: number, partSizeMb = 5, format = 'tar.gz'): Promise<BackupTarget> {
  // backups/<hostId>/<backupId>/…, the only keys the documents accept
  const dataKey = `backups/${name}/b1/data.${format}`;
  const configKey = `backups/${name}/b1/config.tar.gz`;
  const { UploadId } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: dataKey, ChecksumAlgorithm: 'SHA256', ChecksumType: 'COMPOSITE' }));
  const uploadId = UploadId!;
  return {
    dataKey,
    configKey,
    uploadId,
    params: { Bucket: BUCKET, Region: REGION, DataKey: dataKey, ConfigKey: configKey, UploadId: uploadId, PartSizeMb: String(partSizeMb), PartCount: String(parts) },
  };
}

/** What complete-backup does: complete the upload with the ETags and checksums the host reported. */
export async function completeBackup(s3: TestS3, target: BackupTarget, parts: { partNumber: number; etag: string; checksumSha256?: string }[]): Promise<void> {
  await s3.client.send(
    new CompleteMultipartUploadCommand({
      Bucket: BUCKET,
      Key: target.dataKey,
      UploadId: target.uploadId,
      MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag, ChecksumSHA256: p.checksumSha256 })) },
    }),
  );
}

export async function objectSha256(s3: TestS3, key: string): Promise<{ sha256: string; bytes: number }> {
  const res = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const body = Buffer.from(await res.Body!.transformToByteArray());
  return { sha256: createHash('sha256').update(body).digest('hex'), bytes: body.length };
}

/** The restore document's parameters for a backup's keys (current versions): no URL, no credential. */
export function restoreFrom(target: Pick<BackupTarget, 'dataKey' | 'configKey'>): Record<string, string> {
  return { Bucket: BUCKET, Region: REGION, DataKey: target.dataKey, ConfigKey: target.configKey };
}

export async function health(url: string): Promise<number> {
  try {
    return (await fetch(url)).status;
  } catch {
    return 0;
  }
}
