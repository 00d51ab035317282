/**
 * A lightweight simulated SSM agent for the benchmarks (bench/): selected per
 * instance (`registerInstance({ runStep })`), it answers every fleetwave
 * document with a valid result line (docs/contracts.md, "Step results") after
 * a fixed delay, without bash, docker or a simulated host's files. It measures
 * orchestration only: the real scripts are tested against real simulated hosts
 * elsewhere (test/integration/ssm-documents, test/workflows).
 *
 * What it keeps per instance is what the result lines must agree on: the
 * version the host runs and the version its config pins. The backup answer
 * really uploads a small archive through the presigned part and config URLs it
 * is given, so complete-backup's end-to-end size and sha256 check passes; the
 * restore answer really downloads both objects.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
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

/** The base64url (no padding) parameter values the documents take, decoded. */
function decodeUrl(value: string): string {
  return Buffer.from(value.trim(), 'base64url').toString('utf8');
}

const b64sha = (b: Buffer) => createHash('sha256').update(b).digest('base64');

/** A PUT with its x-amz-checksum-sha256, as the backup script sends each part and the config. */
async function put(url: string, body: Buffer): Promise<string> {
  const res = await fetch(url, { method: 'PUT', body, headers: { 'content-length': String(body.length), 'x-amz-checksum-sha256': b64sha(body) } });
  if (!res.ok) throw new Error(`PUT ${new URL(url).pathname} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  return (res.headers.get('etag') ?? '').replace(/"/g, '');
}

async function get(url: string): Promise<number> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${new URL(url).pathname} answered ${res.status}`);
  return (await res.arrayBuffer()).byteLength;
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
        const parts = (env.SSM_DataPartUrls ?? '').split(/[\s,[\]"]+/).filter(Boolean);
        const data = Buffer.from(`simulated ${mode} data of a host on ${h.pinned}\n`);
        const config = Buffer.from(`simulated config pinning ${h.pinned}\n`);
        const snapshotAt = Date.now();
        const etag = await put(decodeUrl(parts[0] ?? ''), data);
        await put(decodeUrl(env.SSM_ConfigUrl ?? ''), config);
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
        // older documents name presigned URLs; current ones name the keys the host reads with its own role
        if (env.SSM_DataUrl) await get(decodeUrl(env.SSM_DataUrl));
        if (env.SSM_ConfigUrl) await get(decodeUrl(env.SSM_ConfigUrl));
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
        out = `${JSON.stringify(await answer(step, run.step.env, host(run.instanceId)))}\n`;
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
