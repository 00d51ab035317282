/**
 * On-disk state of one simulated host, shared by the fake `docker`, the app
 * process and `lab/hosts/index.ts`. Everything lives under the host root:
 *
 *   <root>/semaphor/            compose dir (docker-compose.yml, semaphor.env)
 *   <root>/host.json            identity, database mode, compose flavour
 *   <root>/faults.json          injected faults, re-read at every call
 *   <root>/state/images.json    pulled image names -> image id (images.ts)
 *   <root>/state/containers.json  the three "containers" of the last `up`
 *   <root>/state/app.json       pid and status of the app process
 *   <root>/state/logs/<service>.log
 *   <root>/volumes/<name>/      docker volumes (embedded database files)
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { DatabaseMode, SERVICES, type ServiceName } from '../../core/models';

export const COMPOSE_SUBDIR = 'semaphor';
/** Lab-only path of the app answering its host id (not part of Semaphor's API). */
export const LAB_IDENTITY_PATH = '/__fleetwave-lab/host';
export const VOLUME_KEY = 'semaphor-data';

export const Faults = z
  .object({
    /** Service whose image cannot be pulled (true: data-service). */
    pullFails: z.union([z.enum(SERVICES), z.boolean()]).optional(),
    schemaSyncFails: z.boolean().optional(),
    /** Health answers 503 (a version: only while that version runs, e.g. a bad release). */
    unhealthy: z.union([z.boolean(), z.string()]).optional(),
    /** Health alternates 200 / 503 on successive requests (a version: only while that version runs). */
    flapping: z.union([z.boolean(), z.string()]).optional(),
    slowStartSeconds: z.number().nonnegative().optional(),
    /** The backup producer (tar / pg_dump) writes some bytes, then ENOSPC. */
    diskFullDuringBackup: z.boolean().optional(),
    /** The data restore (tar -x into the volume / pg_restore) fails. */
    restoreFails: z.boolean().optional(),
    /** data-service runs another version (true: a neighbouring catalog version). */
    mixedVersions: z.union([z.boolean(), z.string()]).optional(),
    licenseExpired: z.boolean().optional(),
  })
  .strict();
export type Faults = z.infer<typeof Faults>;

/** A fault given as `true` or as the version it applies to, for the version now running. */
export function faultApplies(value: boolean | string | undefined, runningVersion: string): boolean {
  if (typeof value === 'string') return value.replace(/^v/, '') === runningVersion.replace(/^v/, '');
  return value === true;
}

export const HostInfo = z.object({
  hostId: z.string(),
  mode: DatabaseMode,
  composeFlavor: z.enum(['v1', 'v2']),
  /**
   * External mode: the PostgreSQL version the host's database server reports (`server_version`),
   * when the lab simulates a server other than the machine's own (pg-wrap.ts). Absent: the real one.
   */
  postgresServerVersion: z.string().regex(/^\d+\.\d+$/).optional(),
  /** Whether the host has the PostgreSQL client programs (psql, pg_dump, pg_restore) installed. */
  postgresClient: z.enum(['installed', 'absent']).optional(),
});
export type HostInfo = z.infer<typeof HostInfo>;

export const Container = z.object({
  id: z.string(),
  service: z.enum(SERVICES),
  image: z.string(),
  /** The release the image is (resolved from the store when the container was created). */
  version: z.string().optional(),
  createdAt: z.string(),
});
export type Container = z.infer<typeof Container>;

export const ContainersState = z.object({
  project: z.string(),
  hostPort: z.number().int().nullable(),
  containers: z.array(Container),
});
export type ContainersState = z.infer<typeof ContainersState>;

/** The app process; written by the fake docker when it starts or stops it. */
export const AppState = z.object({
  pid: z.number().int(),
  startedAt: z.string(),
  stopRequested: z.boolean(),
});
export type AppState = z.infer<typeof AppState>;

/** Written by the app itself when it exits on its own (sync failure, licence). */
export const AppExit = z.object({ pid: z.number().int(), exitCode: z.number().int(), reason: z.string() });
export type AppExit = z.infer<typeof AppExit>;

export interface AppStatus {
  running: boolean;
  status: 'running' | 'exited' | 'created';
  exitCode: number;
  pid: number;
}

/** Docker-like state of the three containers, derived from the app's pid. */
export function appStatus(root: string): AppStatus {
  const app = readApp(root);
  if (!app) return { running: false, status: 'created', exitCode: 0, pid: 0 };
  if (isAlive(app.pid)) return { running: true, status: 'running', exitCode: 0, pid: app.pid };
  const exit = readJson<AppExit | null>(paths(root).exit, AppExit, null);
  const code = exit && exit.pid === app.pid ? exit.exitCode : app.stopRequested ? 0 : 137;
  return { running: false, status: 'exited', exitCode: code, pid: 0 };
}

export function paths(root: string) {
  const state = join(root, 'state');
  return {
    root,
    composeDir: join(root, COMPOSE_SUBDIR),
    hostJson: join(root, 'host.json'),
    faults: join(root, 'faults.json'),
    state,
    images: join(state, 'images.json'),
    containers: join(state, 'containers.json'),
    app: join(state, 'app.json'),
    exit: join(state, 'exit.json'),
    logs: join(state, 'logs'),
    log: (service: ServiceName) => join(state, 'logs', `${service}.log`),
    volumes: join(root, 'volumes'),
    volume: (name: string) => join(root, 'volumes', name),
  };
}

export function readJson<T>(file: string, schema: z.ZodType<T>, fallback: T): T {
  if (!existsSync(file)) return fallback;
  return schema.parse(JSON.parse(readFileSync(file, 'utf8')));
}

/** Temp file + rename, so a concurrent reader never sees half a file. */
export function writeJsonAtomic(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, file);
}

export function readFaults(root: string): Faults {
  return readJson(paths(root).faults, Faults, {});
}

export function readHostInfo(root: string): HostInfo {
  return HostInfo.parse(JSON.parse(readFileSync(paths(root).hostJson, 'utf8')));
}

export const ImagesState = z.record(z.string(), z.string());
export function readImages(root: string): Record<string, string> {
  return readJson(paths(root).images, ImagesState, {});
}

export function readContainers(root: string): ContainersState | null {
  return readJson<ContainersState | null>(paths(root).containers, ContainersState, null);
}

export function readApp(root: string): AppState | null {
  return readJson<AppState | null>(paths(root).app, AppState, null);
}

/** `name:tag@sha256:…` names the image by its digest; the tag is what precedes it. */
const withoutDigest = (image: string) => image.split('@')[0]!;

export function tagOf(image: string): string | null {
  const name = withoutDigest(image);
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  return colon > slash ? name.slice(colon + 1) : null;
}

export function repositoryOf(image: string): string {
  const name = withoutDigest(image);
  const tag = tagOf(name);
  return tag === null ? name : name.slice(0, name.length - tag.length - 1);
}

/** A live process, not a zombie left for a reaper that never comes. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Compose project name as compose derives it: `.env` COMPOSE_PROJECT_NAME, else the dir name. */
export function projectName(composeDir: string, explicit?: string): string {
  const raw = explicit ?? readEnvFile(join(composeDir, '.env')).COMPOSE_PROJECT_NAME ?? basename(composeDir);
  return raw.toLowerCase().replace(/[^a-z0-9_-]/g, '');
}

/** `KEY=value` lines; quotes stripped; comments and blanks ignored. Never evaluated. */
export function readEnvFile(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2]!.trim();
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    out[m[1]!] = v;
  }
  return out;
}

export function volumeName(project: string): string {
  return `${project}_${VOLUME_KEY}`;
}

export function containerId(root: string, service: string, createdAt: string): string {
  return createHash('sha256').update(`${root}\0${service}\0${createdAt}`).digest('hex');
}
