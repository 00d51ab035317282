/**
 * A PostgreSQL server from the machine's own binaries, for the lab and the
 * tests. `initdb` refuses to run as root, so as root the server runs as user
 * `postgres`. DATABASE_URL, when set, is used instead.
 *
 * Like a real server it checks passwords: every role, the superuser
 * included, authenticates with scram-sha-256 (pg_hba.conf written here, no
 * `trust` line), so a wrong or stale password fails in the lab as it does on
 * Aurora. The superuser's password is kept beside the data
 * (`fleetwave-superuser`, 0600) so a kept cluster can be started again.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface PostgresServer {
  /** Superuser URL with its password, e.g. postgres://postgres:…@127.0.0.1:5433/postgres */
  url: string;
  port: number;
  dataDir: string | null;
  /**
   * Stop (fast: every connection is cut), stay down `downMs` (a failover's
   * outage), start again on the same port; resolves when the server is back.
   */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A lab password: random, and always holding the characters a URL or a
 * `user:password@` split gets wrong (`+ / @ : %`), so every place that carries
 * a password (secret, CLI URL, a host's DATABASE_URL) is shown to carry it
 * intact.
 */
export function labPassword(): string {
  return `${randomBytes(12).toString('base64url')}+/@:%`;
}

/** pg_hba.conf of the lab: passwords for every role, over TCP and the socket alike. */
const PG_HBA = [
  '# written by fleetwave lab (lab/postgres.ts): every role authenticates with a password',
  'local all all scram-sha-256',
  'host all all 127.0.0.1/32 scram-sha-256',
  'host all all ::1/128 scram-sha-256',
  '',
].join('\n');

const SUPERUSER_FILE = 'fleetwave-superuser';
const PORT_FILE = 'fleetwave-port';

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export class PostgresNotFoundError extends Error {
  override name = 'PostgresNotFoundError';
}

export function findPostgresBin(): string {
  const candidates = [process.env.PG_BIN, ...listVersions('/usr/lib/postgresql').map((v) => `/usr/lib/postgresql/${v}/bin`)];
  for (const dir of candidates) if (dir && existsSync(join(dir, 'initdb'))) return dir;
  throw new PostgresNotFoundError(
    'PostgreSQL server binaries not found: install postgresql (initdb, pg_ctl) or set DATABASE_URL / PG_BIN',
  );
}

function listVersions(root: string): string[] {
  try {
    return readdirSync(root).sort((a, b) => Number(b) - Number(a));
  } catch {
    return [];
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

function asServerUser(cmd: string, args: string[]): [string, string[]] {
  return isRoot() ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

function run(cmd: string, args: string[]): void {
  const [c, a] = asServerUser(cmd, args);
  const r = spawnSync(c, a, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr || r.stdout}`);
}

/**
 * Start a server whose data lives in `dataDir` (created when missing). Reuses
 * an existing cluster there, so `lab up` after `lab down` keeps the registry.
 */
export async function startPostgres(dataDir: string, port?: number): Promise<PostgresServer> {
  const bin = findPostgresBin();
  mkdirSync(dataDir, { recursive: true });
  // a kept cluster listens where it did before: the hosts' DATABASE_URLs name that port
  const portFile = join(dataDir, PORT_FILE);
  const kept = existsSync(portFile) ? Number(readFileSync(portFile, 'utf8').trim()) : undefined;
  if (port === undefined && kept !== undefined && !(await portFree(kept))) {
    throw new Error(`port ${kept}, where the PostgreSQL kept in ${dataDir} listened (the lab's hosts and secret name it), is taken by another process: stop it, or start the lab with --fresh`);
  }
  const listenPort = port ?? kept ?? (await freePort());
  if (isRoot()) {
    const [uid, gid] = serverUser();
    chownSync(dataDir, uid, gid);
    // the server user must be able to reach its data dir (mkdtemp makes 0700 dirs)
    chmodSync(dirname(dataDir), 0o755);
  }
  if (!existsSync(join(dataDir, 'PG_VERSION'))) initCluster(bin, dataDir);
  const superuserFile = join(dataDir, SUPERUSER_FILE);
  if (!existsSync(superuserFile)) {
    throw new Error(`${dataDir} holds a PostgreSQL cluster without the lab's superuser password (${SUPERUSER_FILE}): it was made by an older lab; remove the folder or start the lab with --fresh`);
  }
  const password = readFileSync(superuserFile, 'utf8').trim();
  writeFileSync(join(dataDir, 'pg_hba.conf'), PG_HBA);
  const sockDir = dataDir; // keep the unix socket out of /var/run (may not exist)
  const startArgs = [
    '-D', dataDir, '-w', '-t', '30', '-l', join(dataDir, 'server.log'),
    '-o', `-p ${listenPort} -h 127.0.0.1 -k ${sockDir} -c fsync=off -c max_connections=200`,
    'start',
  ];
  run(join(bin, 'pg_ctl'), startArgs);
  writeFileSync(portFile, `${listenPort}\n`);
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${listenPort}/postgres`;
  return {
    url,
    port: listenPort,
    dataDir,
    async restart(downMs = 0) {
      // not spawnSync: the lab's own tasks must go on running (and fail over) during the restart
      const pgCtl = (args: string[]) => promisify(execFile)(...asServerUser(join(bin, 'pg_ctl'), args));
      await pgCtl(['-D', dataDir, '-m', 'fast', '-w', '-t', '30', 'stop']);
      await new Promise((r) => setTimeout(r, downMs));
      await pgCtl(startArgs);
    },
    async stop() {
      stopPostgres(dataDir);
    },
  };
}

/** initdb with a superuser password (read from a file only the server user can read, then removed). */
function initCluster(bin: string, dataDir: string): void {
  const password = labPassword();
  const scratch = mkdtempSync(join(tmpdir(), 'fw-pg-init-'));
  const pwfile = join(scratch, 'pw');
  try {
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (isRoot()) {
      const [uid, gid] = serverUser();
      chownSync(scratch, uid, gid);
      chownSync(pwfile, uid, gid);
    }
    run(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--no-sync', '--locale=C']);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  writeFileSync(join(dataDir, SUPERUSER_FILE), `${password}\n`, { mode: 0o600 });
  writeFileSync(join(dataDir, 'fleetwave-lab'), 'created by fleetwave lab\n');
}

function serverUser(): [number, number] {
  const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  return [uid, gid];
}

export function stopPostgres(dataDir: string): void {
  const bin = findPostgresBin();
  if (!existsSync(join(dataDir, 'postmaster.pid'))) return;
  const [c, a] = asServerUser(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
  spawnSync(c, a, { encoding: 'utf8' });
}

/** Start detached from this process (for `lab up`, which exits while the lab runs). */
export function spawnDetached(cmd: string, args: string[], logFile: string): number {
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'ignore', 'ignore'], env: { ...process.env, FLEETWAVE_LOG: logFile } });
  child.unref();
  return child.pid ?? -1;
}
