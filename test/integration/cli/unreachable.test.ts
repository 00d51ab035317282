/**
 * Exit 5 (cli/exit-codes.ts), per command: a registry that cannot be reached
 * is said in exactly those words, for every command that needs it (not "no
 * host X in the registry"), without its password. No PostgreSQL is started:
 * the registry URL points at a closed local port.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../cli/program';

/** Several commands at once: their exit codes, and everything they wrote to stderr together. */
async function runAll(runs: string[][]): Promise<{ results: number[]; stderr: string }> {
  let stderr = '';
  const [out, err] = [process.stdout.write, process.stderr.write];
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => ((stderr += String(c)), true)) as typeof process.stderr.write;
  try {
    return { results: await Promise.all(runs.map((args) => main(['node', 'fleetwave', ...args]))), stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

/** A local port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

let dir: string;
let port: number;
const saved = { config: process.env.FLEETWAVE_CONFIG, lab: process.env.FLEETWAVE_LAB_DIR };
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fw-exit-'));
  port = await closedPort();
  const arn = (n: string) => `arn:aws:states:us-east-1:111122223333:stateMachine:${n}`;
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      region: 'us-east-1',
      databaseUrl: `postgres://fleetwave:s3cret-pw@127.0.0.1:${port}/registry`,
      stateMachines: { hostUpgrade: arn('HostUpgrade'), hostRollback: arn('HostRollback'), fleetRollout: arn('FleetRollout'), rolloutRollback: arn('RolloutRollback') },
      backupBucket: 'backups',
    }),
  );
  process.env.FLEETWAVE_CONFIG = join(dir, 'config.json');
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  for (const [k, v] of [['FLEETWAVE_CONFIG', saved.config], ['FLEETWAVE_LAB_DIR', saved.lab]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('a registry that cannot be reached', () => {
  const commands: Record<string, string[]> = {
    'host upgrade': ['host', 'upgrade', '--host', 'acme-1', '--version', '1.5.0', '--wait'],
    'rollback --host': ['rollback', '--host', 'acme-1', '--wait'],
    'rollback --rollout': ['rollback', '--rollout', 'acme-1-5-0'],
    'rollout start': ['rollout', 'start', '--fleet', 'acme', '--version', '1.5.0'],
    'rollout stop': ['rollout', 'stop', '--rollout', 'acme-1-5-0'],
    'rollout status': ['rollout', 'status', '--rollout', 'acme-1-5-0'],
    'backups list': ['backups', 'list', '--host', 'acme-1'],
    status: ['status'],
  };

  it('every command exits 5 saying it could not reach the registry (not "no host X"), never its password', async () => {
    // all at once (each waits out the pool's reconnect delays); stderr is shared, so counted
    const { results, stderr } = await runAll(Object.values(commands));
    expect(Object.fromEntries(Object.keys(commands).map((name, i) => [name, results[i]]))).toEqual(Object.fromEntries(Object.keys(commands).map((name) => [name, 5])));
    expect(stderr.split(`could not reach the registry (127.0.0.1:${port})`).length - 1).toBe(Object.keys(commands).length);
    expect(stderr).not.toContain('no host');
    expect(stderr).not.toContain('s3cret-pw');
  }, 120_000);
});

