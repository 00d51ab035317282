/**
 * A throwaway PostgreSQL server from the machine's own binaries, for the lab
 * and the tests. `initdb` refuses to run as root, so as root the server runs
 * as user `postgres`. DATABASE_URL, when set, is used instead.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

export interface PostgresServer {
  /** Superuser URL, e.g. postgres://postgres@127.0.0.1:5433/postgres */
  url: string;
  port: number;
  dataDir: string | null;
  stop(): Promise<void>;
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
  const listenPort = port ?? (await freePort());
  mkdirSync(dataDir, { recursive: true });
  if (isRoot()) {
    const pw = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const uid = Number(pw.stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chownSync(dataDir, uid, gid);
    // the server user must be able to reach its data dir (mkdtemp makes 0700 dirs)
    chmodSync(dirname(dataDir), 0o755);
  }
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    run(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--locale=C']);
    writeFileSync(join(dataDir, 'fleetwave-lab'), 'created by fleetwave lab\n');
  }
  const sockDir = dataDir; // keep the unix socket out of /var/run (may not exist)
  run(join(bin, 'pg_ctl'), [
    '-D', dataDir, '-w', '-t', '30', '-l', join(dataDir, 'server.log'),
    '-o', `-p ${listenPort} -h 127.0.0.1 -k ${sockDir} -c fsync=off -c max_connections=200`,
    'start',
  ]);
  const url = `postgres://postgres@127.0.0.1:${listenPort}/postgres`;
  return {
    url,
    port: listenPort,
    dataDir,
    async stop() {
      stopPostgres(dataDir);
    },
  };
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
