/**
 * Simulated Semaphor hosts for the lab and the tests. A host is a folder:
 * the compose dir `<root>/semaphor` (docker-compose.yml + semaphor.env), the
 * docker state the lab's `docker` keeps, and its data (embedded: volume files;
 * external: a real PostgreSQL database). The real SSM document scripts run
 * against it with `hostEnv(root)` added to their environment.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import pg from 'pg';
import { COMPOSE_DIR_PATTERN, SERVICES, type DatabaseMode, type ServiceName } from '../../core/models';
import { getRelease, imageName } from './catalog';
import { EmbeddedStore, ExternalStore, openStore, seedRows, type DataStore, type HostData } from './data-store';
import { runningVersionOf } from './docker-shared';
import { initialImages } from './images';
import { prepareLabBin } from './bin';
import { labPassword } from '../postgres';
import {
  appStatus,
  Faults,
  isAlive,
  LAB_IDENTITY_PATH,
  paths,
  readApp,
  readContainers,
  readEnvFile,
  readHostInfo,
  tagOf,
  HostInfo,
  volumeName,
  writeJsonAtomic,
} from './state';

export { prepareLabBin } from './bin';
export { reserveHostPort, releaseHostPort, HOST_PORT_RANGE } from './ports';
import { releaseHostPort } from './ports';
export { CATALOG, IMAGE_REPOSITORY_PREFIX, imageName } from './catalog';
export { Faults } from './state';
export { keptRows, type HostData, type TableSummary } from './data-store';

export class HostSetupError extends Error {
  override name = 'HostSetupError';
}

export interface CreateHostOptions {
  root: string;
  hostId: string;
  mode: DatabaseMode;
  version: string;
  /** Host port published for api-service:3000 (the health URL's port). */
  port: number;
  /** Superuser URL of the PostgreSQL server that holds external-mode databases. */
  adminDatabaseUrl?: string;
  composeFlavor?: 'v1' | 'v2';
  /** External mode: simulate a database server of this version (`17.2`), and whether the host has the client programs. */
  postgres?: HostPostgres;
}

/** The PostgreSQL a host meets (pg-wrap.ts): the server's reported version, the host's client programs. */
export interface HostPostgres {
  serverVersion?: string;
  client?: 'installed' | 'absent';
}

export interface LabHost {
  root: string;
  hostId: string;
  mode: DatabaseMode;
  composeDir: string;
  healthUrl: string;
  port: number;
  /** External mode: the database name on the admin server (for clean-up). */
  databaseName: string | null;
}

export function composeFileText(version: string, port: number): string {
  const svc = (s: ServiceName, extra: string) => `  ${s}:\n    image: ${imageName(s, version)}\n    restart: unless-stopped\n${extra}`;
  return [
    '# Semaphor (fleetwave lab host)',
    'services:',
    svc('api-service', '    env_file: semaphor.env\n    ports:\n      - "' + port + ':3000"\n    volumes:\n      - semaphor-data:/var/lib/semaphor'),
    svc('data-service', '    env_file: semaphor.env'),
    svc('data-service-sidecar', '    environment:\n      SANDBOX: "strict"'),
    'volumes:',
    '  semaphor-data:',
    '',
  ].join('\n');
}

const sqlIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

async function createExternalDatabase(adminUrl: string, hostId: string): Promise<{ url: string; name: string }> {
  const name = `semaphor_${hostId.replace(/[^a-z0-9]/g, '_')}_${randomBytes(3).toString('hex')}`;
  // `+ / @ : %` in every lab password: the host's DATABASE_URL must carry them percent-encoded, intact
  const password = labPassword();
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE ROLE ${sqlIdent(name)} LOGIN PASSWORD ${admin.escapeLiteral(password)}`);
    await admin.query(`CREATE DATABASE ${sqlIdent(name)} OWNER ${sqlIdent(name)}`);
  } finally {
    await admin.end();
  }
  const u = new URL(adminUrl);
  return { url: `postgres://${name}:${encodeURIComponent(password)}@127.0.0.1:${u.port || '5432'}/${name}`, name };
}

async function dockerCall(root: string, command: 'docker' | 'docker-compose', args: string[]): Promise<void> {
  const env = { ...process.env, ...(await hostEnv(root)) };
  await new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new HostSetupError(`${command} ${args.join(' ')}: ${stderr}`))));
  });
}

/** Wait for 200 from `url`; with `hostId`, only from that host's own app (the lab identity path names it). */
export async function waitHealthy(url: string, timeoutMs = 15_000, hostId?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.status === 200 && hostId === undefined) return;
      if (res.status === 200) {
        const who = await (await fetch(new URL(LAB_IDENTITY_PATH, url))).text();
        if (who === hostId) return;
        // two hosts were handed the same port: the health checks would judge the wrong app
        throw new HostSetupError(`${url} is answered by host ${who}, not ${hostId}: port ${new URL(url).port} is taken`);
      }
    } catch (e) {
      if (e instanceof HostSetupError) throw e;
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new HostSetupError(`${url} not healthy within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Lay out a host, seed its data for `version`, pin and pull the images, start it, wait for health. */
export async function createHost(opts: CreateHostOptions): Promise<LabHost> {
  const { root, hostId, mode, version, port } = opts;
  getRelease(version);
  const p = paths(root);
  if (!isAbsolute(root) || !COMPOSE_DIR_PATTERN.test(p.composeDir)) {
    throw new HostSetupError(`host root ${root} gives compose dir ${p.composeDir}, which the ComposeDir pattern refuses`);
  }
  mkdirSync(p.composeDir, { recursive: true });
  mkdirSync(p.logs, { recursive: true });
  writeJsonAtomic(p.hostJson, {
    hostId,
    mode,
    composeFlavor: opts.composeFlavor ?? 'v2',
    ...(opts.postgres?.serverVersion ? { postgresServerVersion: opts.postgres.serverVersion } : {}),
    ...(opts.postgres?.client ? { postgresClient: opts.postgres.client } : {}),
  } satisfies HostInfo);
  writeJsonAtomic(p.faults, {});
  writeFileSync(join(p.composeDir, 'docker-compose.yml'), composeFileText(version, port));

  const envLines = [
    '# Semaphor configuration',
    `SEMAPHOR_LICENSE_KEY=SEMA-${randomBytes(12).toString('base64url')}.${randomBytes(16).toString('base64url')}`,
    `SEMAPHOR_SECRET_KEY=${randomBytes(24).toString('hex')}`,
    'SEMAPHOR_PORT=3000',
  ];
  let databaseName: string | null = null;
  const rows = seedRows(version, hostId);
  if (mode === 'external') {
    if (!opts.adminDatabaseUrl) throw new HostSetupError('external mode needs adminDatabaseUrl');
    const db = await createExternalDatabase(opts.adminDatabaseUrl, hostId);
    databaseName = db.name;
    envLines.push(`DATABASE_URL=${db.url}`);
    const store = await ExternalStore.connect(db.url);
    try {
      await store.init(version);
      for (const [t, r] of Object.entries(rows)) await store.insertRows(t, r);
    } finally {
      await store.close();
    }
  } else {
    const store = new EmbeddedStore(p.volume(volumeName('semaphor')));
    await store.init(version);
    for (const [t, r] of Object.entries(rows)) await store.insertRows(t, r);
  }
  writeFileSync(join(p.composeDir, 'semaphor.env'), envLines.join('\n') + '\n', { mode: 0o600 });
  writeJsonAtomic(p.images, initialImages(version));

  // Started the way the host's own compose flavour would start it.
  if (opts.composeFlavor === 'v1') await dockerCall(root, 'docker-compose', ['--project-directory', p.composeDir, 'up', '-d']);
  else await dockerCall(root, 'docker', ['compose', '--project-directory', p.composeDir, 'up', '-d']);
  const host: LabHost = { root, hostId, mode, composeDir: p.composeDir, healthUrl: `http://127.0.0.1:${port}/api/health`, port, databaseName };
  await waitHealthy(host.healthUrl, 15_000, hostId);
  return host;
}

/**
 * A kept host whose machine was off (the lab was down): its containers come
 * back as docker's `restart: unless-stopped` brings them back at boot, here
 * by `compose start` in the host's own compose flavour; then wait for health.
 */
export async function bootHost(root: string, hostId: string, healthUrl: string): Promise<void> {
  const p = paths(root);
  if (readHostInfo(root).composeFlavor === 'v1') await dockerCall(root, 'docker-compose', ['--project-directory', p.composeDir, 'start']);
  else await dockerCall(root, 'docker', ['compose', '--project-directory', p.composeDir, 'start']);
  await waitHealthy(healthUrl, 15_000, hostId);
}

/** Change the PostgreSQL the host meets (server version simulated, client programs present or not). */
export async function setHostPostgres(root: string, pg: HostPostgres): Promise<void> {
  const info = readHostInfo(root);
  const next: HostInfo = { hostId: info.hostId, mode: info.mode, composeFlavor: info.composeFlavor };
  if (pg.serverVersion) next.postgresServerVersion = pg.serverVersion;
  if (pg.client) next.postgresClient = pg.client;
  writeJsonAtomic(paths(root).hostJson, HostInfo.parse(next));
}

/** Replace the host's injected faults (read by the lab docker and the app at every call). */
export async function setFaults(root: string, faults: Faults): Promise<void> {
  writeJsonAtomic(paths(root).faults, Faults.parse(faults));
}

/** Opens the host's data store (the database its compose env names, or its volume) for one read. */
async function withHostData<T>(root: string, read: (store: DataStore) => Promise<T>): Promise<T> {
  const p = paths(root);
  const env = readEnvFile(join(p.composeDir, 'semaphor.env'));
  const store = await openStore({ databaseUrl: env.DATABASE_URL, volumeDir: p.volume(volumeName(readContainers(root)?.project ?? 'semaphor')) });
  try {
    return await read(store);
  } finally {
    await store.close();
  }
}

/** Row-level checksums of the host's data: per table, sha256 over rows sorted by id, every column. */
export async function dataChecksums(root: string): Promise<Record<string, string>> {
  return withHostData(root, (store) => store.checksums());
}

/** The host's data, table by table: columns and rows (compare an upgrade's with `keptRows`). */
export async function dataTables(root: string): Promise<HostData> {
  return withHostData(root, (store) => store.tables());
}

/** Schema version the host's data is on (null: empty). */
export async function dataSchemaVersion(root: string): Promise<string | null> {
  return withHostData(root, (store) => store.schemaVersion());
}

/** Version each service runs right now (null: not running), as `docker inspect` would say. */
export function runningVersions(root: string): Record<ServiceName, string | null> {
  const cs = readContainers(root);
  const running = appStatus(root).running;
  const out = {} as Record<ServiceName, string | null>;
  for (const s of SERVICES) {
    const c = cs?.containers.find((x) => x.service === s);
    out[s] = c && running ? runningVersionOf(root, c) : null;
  }
  return out;
}

/** Kill the host's app process (all three "containers"). */
export async function stopHost(root: string): Promise<void> {
  const app = readApp(root);
  if (!app || !isAlive(app.pid)) return;
  writeJsonAtomic(paths(root).app, { ...app, stopRequested: true });
  process.kill(app.pid, 'SIGTERM');
  for (let i = 0; i < 100 && isAlive(app.pid); i++) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(app.pid)) process.kill(app.pid, 'SIGKILL');
}

/** Stop the host, drop its external database (if any) and delete its folder. */
export async function destroyHost(host: LabHost, adminDatabaseUrl?: string): Promise<void> {
  await stopHost(host.root);
  if (host.databaseName && adminDatabaseUrl) {
    const admin = new pg.Client({ connectionString: adminDatabaseUrl });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${sqlIdent(host.databaseName)} WITH (FORCE)`);
      await admin.query(`DROP ROLE IF EXISTS ${sqlIdent(host.databaseName)}`);
    } finally {
      await admin.end();
    }
  }
  rmSync(host.root, { recursive: true, force: true });
  releaseHostPort(host.port);
}

/** Environment the SSM agent adds for this host: the lab bin dir first on PATH, and the host root. */
export async function hostEnv(root: string, basePath = process.env.PATH ?? '/usr/bin:/bin'): Promise<{ PATH: string; FLEETWAVE_HOST_ROOT: string }> {
  const bin = await prepareLabBin();
  return { PATH: `${bin}:${basePath}`, FLEETWAVE_HOST_ROOT: root };
}
