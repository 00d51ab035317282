/**
 * The lab's `pg_dump` / `pg_restore`: honour the host's faults, then run the
 * real PostgreSQL client binaries. Without FLEETWAVE_HOST_ROOT they are a
 * plain pass-through.
 */
import { join } from 'node:path';
import { findPostgresBin } from '../postgres';
import { runChild } from './docker-cli';
import { readFaults } from './state';

export async function runPgTool(tool: 'pg_dump' | 'pg_restore', args: string[]): Promise<number> {
  const root = process.env.FLEETWAVE_HOST_ROOT;
  const faults = root ? readFaults(root) : {};
  const real = join(findPostgresBin(), tool);
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
