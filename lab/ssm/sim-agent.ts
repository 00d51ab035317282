/**
 * A lightweight simulated SSM agent for the benchmarks (bench/): selected per
 * instance (`registerInstance({ runStep })`), it answers every fleetwave
 * document with a valid result line (docs/contracts.md, "Step results") after
 * a fixed delay, without bash, docker or a simulated host's files. It measures
 * orchestration only: the real scripts are tested against real simulated hosts
 * elsewhere (test/integration/ssm-documents, test/workflows).
 *
 * What it keeps per instance is what the result lines must agree on: the
 * version the host runs and the version its config pins. As the real scripts
 * do (ssm-documents/scripts/s3.sh), the backup answer really uploads a small
 * archive as part 1 of the upload it is given and the config object, signed
 * with the node's own role session read from the shared credentials file the
 * agent's environment names (AWS_SHARED_CREDENTIALS_FILE, lab/hosts/credentials.ts)
 * with a SHA-256 checksum per request, so complete-backup's checks pass; the
 * restore answer really downloads both objects with that session.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { GetObjectCommand, PutObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { join } from 'node:path';
import type { RunningStep, StepResult } from './agent';
import type { StepRunner } from './service';

export interface SimAgentOptions {
  /** How long every document takes, in milliseconds (the uploads of a backup included). */
  stepMs: number;
  /** The version every instance runs at first. */
  initialVersion: string;
  /** Database mode reported by preflight and backup. */
  mode?: 'embedded' | 'external';
}

export interface SimAgent {
  runStep: StepRunner;
  /** Documents answered, by document name. */
  readonly counts: Map<string, number>;
  /** The version an instance runs now. */
  versionOf(instanceId: string): string;
}

interface SimHost {
  running: string;
  pinned: string;
}

const DIGEST = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
const SERVICES = ['api-service', 'data-service', 'data-service-sidecar'] as const;
const perService = <T>(f: (service: string) => T) => Object.fromEntries(SERVICES.map((s) => [s, f(s)]));

/** The step name a fleetwave document runs (`Fleetwave-PullImages` → `pull-images`). */
export function stepOfDocument(documentName: string): string {
  const base = documentName.replace(/^.*?-/, '');
  return base.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();
}

const b64sha = (b: Buffer) => createHash('sha256').update(b).digest('base64');

/** The node's role session, as the scripts read it before every request: profile `default` of the shared credentials file. */
function sessionOf(env: Record<string, string>): { accessKeyId: string; secretAccessKey: string; sessionToken: string } {
  const file = env.AWS_SHARED_CREDENTIALS_FILE;
  if (!file) throw new Error('the agent environment names no AWS_SHARED_CREDENTIALS_FILE (the node has no role session)');
  const text = readFileSync(file, 'utf8');
  const value = (k: string) => new RegExp(`^${k}\\s*=\\s*(\\S+)`, 'm').exec(text)?.[1] ?? '';
  return { accessKeyId: value('aws_access_key_id'), secretAccessKey: value('aws_secret_access_key'), sessionToken: value('aws_session_token') };
}

/** An S3 client signing with the node's session, at the endpoint the agent's environment names. */
function hostS3(env: Record<string, string>): S3Client {
  return new S3Client({
    endpoint: env.AWS_ENDPOINT_URL_S3,
    region: env.SSM_Region || 'us-east-1',
    forcePathStyle: true,
    credentials: sessionOf(env),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
  });
}

/** Up to 3 tries with a fresh session each, as fw_s3_put / fw_s3_get do (a reset connection under load is not a failed backup). */
async function withRetries<T>(env: Record<string, string>, f: (s3: S3Client) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const s3 = hostS3(env);
    try {
      return await f(s3);
    } catch (err) {
      if (attempt >= 3) throw err;
      await new Promise((r) => setTimeout(r, attempt * 1000));
    } finally {
      s3.destroy();
    }
  }
}

async function getBytes(s3: S3Client, bucket: string, key: string, versionId?: string): Promise<number> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId || undefined }));
  return (await r.Body!.transformToByteArray()).byteLength;
}

export function createSimAgent(options: SimAgentOptions): SimAgent {
  const hosts = new Map<string, SimHost>();
  const counts = new Map<string, number>();
  const mode = options.mode ?? 'embedded';
  const host = (id: string): SimHost => {
    let h = hosts.get(id);
    if (!h) hosts.set(id, (h = { running: options.initialVersion, pinned: options.initialVersion }));
    return h;
  };

  async function answer(step: string, env: Record<string, string>, h: SimHost): Promise<Record<string, unknown>> {
    switch (step) {
      case 'preflight': {
        const target = env.SSM_TargetVersion ?? '';
        return { step, ok: true, mode, compose: 'docker compose', currentVersion: h.running, mixedVersions: false, dataBytesEstimate: 4096, freeBytes: 50e9, targetVersion: target, alreadyOnTarget: h.running === target };
      }
      case 'backup': {
        const data = Buffer.from(`simulated ${mode} data of a host on ${h.pinned}\n`);
        const config = Buffer.from(`simulated config pinning ${h.pinned}\n`);
        const snapshotAt = Date.now();
        const bucket = env.SSM_Bucket ?? '';
        const part = await withRetries(env, (s3) => s3.send(new UploadPartCommand({ Bucket: bucket, Key: env.SSM_DataKey, UploadId: env.SSM_UploadId, PartNumber: 1, Body: data, ChecksumSHA256: b64sha(data) })));
        await withRetries(env, (s3) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: env.SSM_ConfigKey, Body: config, ChecksumSHA256: b64sha(config) })));
        const etag = (part.ETag ?? '').replace(/"/g, '');
        const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
        return {
          step,
          ok: true,
          mode,
          version: h.pinned,
          // embedded: the services stay stopped for the restart, as backup.sh leaves them
          servicesStopped: mode === 'embedded',
          snapshotAt,
          finishedAt: Date.now(),
          data: {
            bytes: data.length,
            sha256: sha(data),
            // S3's composite checksum: base64(SHA-256 of the parts' digests)-<parts>
            checksumSha256: `${createHash('sha256').update(createHash('sha256').update(data).digest()).digest('base64')}-1`,
            format: mode === 'external' ? 'pgdump' : 'tar.gz',
            entries: 1,
            parts: [{ partNumber: 1, etag, bytes: data.length, checksumSha256: b64sha(data) }],
          },
          config: { bytes: config.length, sha256: sha(config), checksumSha256: b64sha(config), entries: 1 },
        };
      }
      case 'pull-images': {
        const v = env.SSM_Version ?? '';
        return { step, ok: true, version: v, images: perService((s) => ({ image: `semaphor/${s}:${v}`, digest: DIGEST(`${s}:${v}`), reference: `semaphor/${s}:${v}@${DIGEST(`${s}:${v}`)}`, imageId: DIGEST(`id ${s}:${v}`) })) };
      }
      case 'pin-tags': {
        const v = env.SSM_Version ?? '';
        const previous = h.pinned;
        h.pinned = v;
        return { step, ok: true, changed: previous !== v, version: v, previousTags: perService(() => previous), images: perService((s) => `semaphor/${s}:${v}@${DIGEST(`${s}:${v}`)}`) };
      }
      case 'restart':
        h.running = h.pinned;
        return { step, ok: true, startedAt: Date.now(), version: h.running };
      case 'watch-schema':
        return { step, ok: true, synced: true, secondsWaited: 0, version: h.running };
      case 'health-check':
        return { step, ok: true, healthy: true, passes: Number(env.SSM_Passes ?? 1), versions: perService(() => h.running), logVersion: h.running };
      case 'restore': {
        await withRetries(env, (s3) => getBytes(s3, env.SSM_Bucket ?? '', env.SSM_DataKey ?? '', env.SSM_DataVersionId));
        await withRetries(env, (s3) => getBytes(s3, env.SSM_Bucket ?? '', env.SSM_ConfigKey ?? '', env.SSM_ConfigVersionId));
        return { step, ok: true, restored: true, mode, version: h.running };
      }
      case 'inventory':
        return {
          step,
          ok: true,
          services: perService((s) => ({ image: `semaphor/${s}:${h.running}`, tag: h.running, digest: DIGEST(`${s}:${h.running}`), imageId: DIGEST(`id ${s}:${h.running}`), running: true })),
          pinned: perService(() => h.pinned),
          pinnedDigests: perService((s) => DIGEST(`${s}:${h.pinned}`)),
        };
      default:
        throw new Error(`the simulated agent knows no document for step ${step}`);
    }
  }

  const runStep: StepRunner = (run) => {
    const step = stepOfDocument(run.documentName);
    counts.set(run.documentName, (counts.get(run.documentName) ?? 0) + 1);
    const dir = join(run.orchestrationDir, run.step.name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const startedAt = Date.now();
    let cancelled = false;
    let wake: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const result = (async (): Promise<StepResult> => {
      let out = '';
      let err = '';
      let exitCode = 0;
      try {
        out = `${JSON.stringify(await answer(step, { ...run.agentEnv, ...run.step.env }, host(run.instanceId)))}\n`;
      } catch (e) {
        err = `${(e as Error).message}\n`;
        exitCode = 1;
      }
      const left = options.stepMs - (Date.now() - startedAt);
      if (left > 0 && !cancelled) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, left);
        });
      }
      if (cancelled) exitCode = 137;
      const stdoutPath = join(dir, 'stdout');
      const stderrPath = join(dir, 'stderr');
      writeFileSync(stdoutPath, out, { mode: 0o600 });
      writeFileSync(stderrPath, err, { mode: 0o600 });
      return {
        exitCode,
        stoppedBy: cancelled ? 'cancel' : null,
        stdout: { path: stdoutPath, head: out, bytes: Buffer.byteLength(out) },
        stderr: { path: stderrPath, head: err, bytes: Buffer.byteLength(err) },
        startedAt,
        endedAt: Date.now(),
      };
    })();
    return {
      pid: undefined,
      result,
      cancel: () => {
        cancelled = true;
        if (timer) clearTimeout(timer);
        wake?.();
      },
    };
  };

  return { runStep, counts, versionOf: (id) => host(id).running };
}
