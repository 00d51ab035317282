/**
 * Setup file of the unit project: unit tests do no I/O, and this makes it
 * hold. Opening a socket (PostgreSQL, s3rver, any endpoint) or starting a
 * process (bash, sh) fails the test with a sentence saying where it belongs.
 * Reading the repository's own files (SSM documents, migrations) stays allowed.
 */
import childProcess from 'node:child_process';
import net from 'node:net';
import { syncBuiltinESMExports } from 'node:module';

const refuse = (what: string) => () => {
  throw new Error(`unit tests do no I/O, and this one ${what}: move it to test/integration (or mock the client)`);
};

net.Socket.prototype.connect = refuse('opened a network connection') as never;
for (const fn of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const) {
  (childProcess as unknown as Record<string, unknown>)[fn] = refuse(`started a process (${fn})`);
}
syncBuiltinESMExports();
