/**
 * Runs the composed SSM documents the way the lab's agent does: runCommand
 * written to a file, `sh file` in a temp working dir, parameters as SSM_*
 * environment variables, the lab bin dir first on PATH and
 * FLEETWAVE_HOST_ROOT naming the simulated host. Plus a real s3rver and the
 * presigned multipart URLs the orchestrator would hand to the backup step.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { HostStep } from '../../../core/models';
import { hostEnv } from '../../../lab/hosts';
import { paths } from '../../../lab/hosts/state';
import { labS3Client, startS3 as startLabS3 } from '../../../lab/s3';
import { loadDocument } from '../../../ssm-documents';

export interface StepRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The JSON result line (last line of stdout). */
  result: Record<string, any>;
}

export const b64url = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

/** Run one step's document against a host, exactly as the lab agent would. */
export async function runStep(step: HostStep, root: string, params: Record<string, string | string[]>): Promise<StepRun> {
  const doc = loadDocument(step);
  const work = mkdtempSync(join(tmpdir(), `fw-ssm-${step}-`));
  const script = join(work, '_script.sh');
  writeFileSync(script, doc.mainSteps[0].inputs.runCommand.join('\n') + '\n');
  const env: NodeJS.ProcessEnv = { HOME: process.env.HOME, LANG: 'C.UTF-8', TMPDIR: work, ...(await hostEnv(root)) };
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
  close(): Promise<void>;
}

/** The lab's S3 (s3rver with multipart abort) on a free port, and a client for it. */
export async function startS3(): Promise<TestS3> {
  const directory = mkdtempSync(join(tmpdir(), 'fw-s3-'));
  const server = await startLabS3({ directory, buckets: [BUCKET] });
  const client = labS3Client(server.endpoint);
  return {
    client,
    async close() {
      client.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

export interface BackupTarget {
  dataKey: string;
  configKey: string;
  uploadId: string;
  /** Parameters of the backup document (URLs base64url-encoded). */
  params: Record<string, string | string[]>;
}

/** What prepare-backup does: a multipart upload, presigned part URLs, a presigned config PUT. */
export async function prepareBackup(s3: TestS3, name: string, parts: number, partSizeMb = 5, format = 'tar.gz'): Promise<BackupTarget> {
  const dataKey = `backups/${name}/data.${format}`;
  const configKey = `backups/${name}/config.tar.gz`;
  const { UploadId } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: dataKey }));
  const uploadId = UploadId!;
  const partUrls: string[] = [];
  for (let n = 1; n <= parts; n++) {
    const url = await getSignedUrl(s3.client, new UploadPartCommand({ Bucket: BUCKET, Key: dataKey, UploadId: uploadId, PartNumber: n }), { expiresIn: 900 });
    partUrls.push(b64url(url));
  }
  // a conditional create, as S3BackupStorage signs it (the bucket refuses any other write under backups/)
  const configUrl = await getSignedUrl(s3.client, new PutObjectCommand({ Bucket: BUCKET, Key: configKey, IfNoneMatch: '*' }), { expiresIn: 900 });
  return { dataKey, configKey, uploadId, params: { DataPartUrls: partUrls, PartSizeMb: String(partSizeMb), ConfigUrl: b64url(configUrl) } };
}

/** What complete-backup does: complete the upload with the ETags the host reported. */
export async function completeBackup(s3: TestS3, target: BackupTarget, parts: { partNumber: number; etag: string }[]): Promise<void> {
  await s3.client.send(
    new CompleteMultipartUploadCommand({
      Bucket: BUCKET,
      Key: target.dataKey,
      UploadId: target.uploadId,
      MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
    }),
  );
}

export async function objectSha256(s3: TestS3, key: string): Promise<{ sha256: string; bytes: number }> {
  const res = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  const body = Buffer.from(await res.Body!.transformToByteArray());
  return { sha256: createHash('sha256').update(body).digest('hex'), bytes: body.length };
}

export async function presignGet(s3: TestS3, key: string): Promise<string> {
  return b64url(await getSignedUrl(s3.client, new GetObjectCommand({ Bucket: BUCKET, Key: key }), { expiresIn: 900 }));
}

export async function health(url: string): Promise<number> {
  try {
    return (await fetch(url)).status;
  } catch {
    return 0;
  }
}
