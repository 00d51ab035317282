/**
 * The lab's `pg_dump` / `pg_restore` / `psql`: honour the host's faults and
 * its PostgreSQL simulation, then run the real PostgreSQL client binaries.
 * Without FLEETWAVE_HOST_ROOT they are a plain pass-through.
 *
 * The machine has one PostgreSQL major; the lab answers as the host's world
 * would:
 * - a host without the client programs (`postgresClient: absent`): the
 *   programs are not there (exit 127, as a shell says);
 * - inside a `docker run` of a postgres image (FLEETWAVE_LAB_PG_CLIENT_VERSION,
 *   set by the lab docker from the image's tag) the programs are of that
 *   image's major: `--version` says so;
 * - a server simulated as another version (`postgresServerVersion`) reports
 *   it (`SHOW server_version[_num]`), and pg_dump refuses it when the server is
 *   newer than its own major, as the real one does (PostgreSQL docs, pg_dump:
 *   it "cannot dump from PostgreSQL servers newer than its own major version").
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { findPostgresBin } from '../postgres';
import { runChild } from './docker-cli';
import { readFaults, readHostInfo, type HostInfo } from './state';

export type PgTool = 'pg_dump' | 'pg_restore' | 'psql';

function realVersion(real: string): string {
  const out = execFileSync(real, ['--version'], { encoding: 'utf8' });
  return /\(PostgreSQL\) (\S+)/.exec(out)?.[1] ?? '0';
}

/** `17.2` → `170002`, as `server_version_num` encodes it. */
const versionNum = (v: string) => {
  const [major, minor] = v.split('.').map(Number);
  return String(major! * 10000 + (minor ?? 0));
};

export async function runPgTool(tool: PgTool, args: string[]): Promise<number> {
  const root = process.env.FLEETWAVE_HOST_ROOT;
  const faults = root ? readFaults(root) : {};
  const info: Partial<HostInfo> = root ? readHostInfo(root) : {};
  const real = join(findPostgresBin(), tool);
  const imageMajor = process.env.FLEETWAVE_LAB_PG_CLIENT_VERSION;
  if (!imageMajor && info.postgresClient === 'absent') {
    process.stderr.write(`bash: ${tool}: command not found\n`);
    return 127;
  }
  const own = realVersion(real);
  const clientMajor = Number(imageMajor ?? own.split('.')[0]);
  if (args.includes('--version') || args.includes('-V')) {
    if (!imageMajor) return runChild([real, ...args], process.env, undefined, { truncateOutput: null, truncateInput: false });
    process.stdout.write(`${tool} (PostgreSQL) ${imageMajor}.0 (fleetwave lab: the postgres:${imageMajor} image's client, run by the machine's ${own} binaries)\n`);
    return 0;
  }
  const server = info.postgresServerVersion;
  if (server && tool === 'psql') {
    const c = args[args.indexOf('-c') + 1];
    if (args.includes('-c') && c && /^\s*SHOW\s+server_version(_num)?\s*;?\s*$/i.test(c)) {
      process.stdout.write(`${/_num/i.test(c) ? versionNum(server) : server}\n`);
      return 0;
    }
  }
  if (server && tool === 'pg_dump' && Number(server.split('.')[0]) > clientMajor) {
    process.stderr.write('pg_dump: error: aborting because of server version mismatch\n');
    process.stderr.write(`pg_dump: detail: server version: ${server}; pg_dump version: ${imageMajor ? `${imageMajor}.0` : own}\n`);
    return 1;
  }
  if (tool === 'pg_restore' && faults.restoreFails && !args.includes('-l') && !args.includes('--list')) {
    // Drain the input like a restore that got going, then fail as a full disk would.
    for await (const _chunk of process.stdin) void _chunk;
    process.stderr.write('pg_restore: error: could not execute query: ERROR:  could not extend file "base/16384/16390": No space left on device\n');
    return 1;
  }
  return runChild([real, ...args], process.env, undefined, {
    truncateOutput: tool === 'pg_dump' && faults.diskFullDuringBackup ? 'pg_dump: error: could not write to output file: No space left on device' : null,
    truncateInput: false,
  });
}
