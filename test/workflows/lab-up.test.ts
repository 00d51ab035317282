/**
 * A new user in a shell: `npx tsx bin/fleetwave.ts lab up`, look around,
 * upgrade one host, `lab down`, and nothing the lab started is left running.
 *
 * DATABASE_URL is removed from the CLI's environment, so `lab up` really
 * initialises and starts its own PostgreSQL under the lab folder (not the
 * suite's server).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { fileURLToPath } from 'node:url';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const dir = mkdtempSync(join(tmpdir(), 'fw-labup-'));

interface ShellRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The user's environment: no DATABASE_URL, no AWS endpoints from elsewhere, the lab folder. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, FLEETWAVE_LAB_DIR: dir };
  for (const k of Object.keys(env)) if (k === 'DATABASE_URL' || k === 'FLEETWAVE_CONFIG' || k.startsWith('AWS_')) delete env[k];
  return env;
}

/** `npx tsx bin/fleetwave.ts ...args` in its own process group, killed whole on timeout. */
function fleetwave(args: string[], timeoutMs: number): Promise<ShellRun> {
  return new Promise((done, fail) => {
    const child = spawn('npx', ['tsx', 'bin/fleetwave.ts', ...args], { cwd: REPO, env: userEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
      fail(new Error(`fleetwave ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/** Alive and not a zombie (a reparented child nobody reaps still answers kill 0). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Every live process whose command line mentions the lab folder: all of them were started by this test. */
function processesUsing(folder: string): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (cmd.includes(folder) && alive(pid)) out.push({ pid, cmd });
    } catch {
      /* exited while we looked */
    }
  }
  return out;
}

function appPids(hostRoots: string[]): number[] {
  return hostRoots.flatMap((root) => {
    const f = join(root, 'state', 'app.json');
    return existsSync(f) ? [(JSON.parse(readFileSync(f, 'utf8')) as { pid: number }).pid] : [];
  });
}

afterAll(async () => {
  // even when the test failed half way: stop the lab, then anything it left behind
  await fleetwave(['lab', 'down'], 60_000).catch(() => undefined);
  for (const p of processesUsing(dir)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  rmSync(dir, { recursive: true, force: true });
}, 90_000);

describe('fleetwave lab up / down from a shell', () => {
  it('starts its own PostgreSQL and two hosts, upgrades one, and lab down leaves nothing running', async () => {
    const up = await fleetwave(['lab', 'up', '--hosts', '2', '--json'], 180_000);
    expect(up.code, up.stderr).toBe(0);
    const lab = JSON.parse(up.stdout) as { pid: number; databaseUrl: string; hosts: { id: string; root: string; mode: string }[] };
    expect(lab.hosts.map((h) => [h.id, h.mode])).toEqual([
      ['stg-1', 'embedded'],
      ['prod-2', 'external'],
    ]);
    // its own server, under the lab folder, not the suite's
    expect(new URL(lab.databaseUrl).port).not.toBe(new URL(inject('databaseUrl')).port);
    const postmaster = Number(readFileSync(join(dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
    expect(alive(lab.pid)).toBe(true);
    expect(alive(postmaster)).toBe(true);

    const status = await fleetwave(['status', '--json'], 60_000);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual(
      expect.arrayContaining([
        // registered as a fleet file registers hosts: their version is unknown until a run or a compliance check reads it
        expect.objectContaining({ host: 'stg-1', version: null, state: 'ready', lastRun: null }),
        expect.objectContaining({ host: 'prod-2', version: null, state: 'ready' }),
      ]),
    );

    const upgrade = await fleetwave(['host', 'upgrade', '--host', 'stg-1', '--version', '1.5.0', '--wait', '--json'], 150_000);
    expect(upgrade.code, upgrade.stderr).toBe(0);
    expect(JSON.parse(upgrade.stdout)).toMatchObject({ hostId: 'stg-1', version: '1.5.0', outcome: 'succeeded', status: 'SUCCEEDED' });
    const after = JSON.parse((await fleetwave(['status', '--json'], 60_000)).stdout) as { host: string; version: string; lastRun: string }[];
    expect(after.find((h) => h.host === 'stg-1')).toMatchObject({ version: '1.5.0', lastRun: 'upgrade → 1.5.0: succeeded' });

    const started = [lab.pid, postmaster, ...appPids(lab.hosts.map((h) => h.root))];
    expect(started.length).toBe(4);
    expect(started.every(alive)).toBe(true);
    expect(processesUsing(dir).length).toBeGreaterThanOrEqual(4);

    const down = await fleetwave(['lab', 'down'], 90_000);
    expect(down.code, down.stderr).toBe(0);

    expect(started.filter(alive)).toEqual([]);
    expect(processesUsing(dir)).toEqual([]);
    expect(existsSync(join(dir, 'lab.json'))).toBe(false);
    const labStatus = await fleetwave(['lab', 'status', '--json'], 60_000);
    expect(JSON.parse(labStatus.stdout)).toEqual({ running: false });
  }, 420_000);

  it('after the lab process is killed, lab up stops what it left and carries on with the kept registry and hosts; lab down after a kill leaves nothing', async () => {
    // the first test upgraded stg-1 and ran lab down: a plain lab up keeps all of it
    const up = await fleetwave(['lab', 'up', '--hosts', '2', '--json'], 180_000);
    expect(up.code, up.stderr).toBe(0);
    const lab = JSON.parse(up.stdout) as { pid: number; hosts: { id: string; root: string }[] };
    const kept = JSON.parse((await fleetwave(['status', '--json'], 60_000)).stdout) as { host: string; version: string }[];
    expect(kept.find((h) => h.host === 'stg-1')).toMatchObject({ version: '1.5.0' });

    // the lab process dies without cleaning up: its PostgreSQL and host apps stay behind
    const postmaster = Number(readFileSync(join(dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
    const left = [postmaster, ...appPids(lab.hosts.map((h) => h.root))];
    process.kill(lab.pid, 'SIGKILL');
    for (let i = 0; i < 50 && alive(lab.pid); i++) await new Promise((r) => setTimeout(r, 100));
    expect(left.every(alive)).toBe(true);

    const again = await fleetwave(['lab', 'up', '--hosts', '2', '--json'], 180_000);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/stopped what an earlier lab left running/);
    expect(left.filter(alive)).toEqual([]);
    const second = JSON.parse(again.stdout) as { pid: number; hosts: { id: string; root: string }[] };
    const status = JSON.parse((await fleetwave(['status', '--json'], 60_000)).stdout) as { host: string; version: string }[];
    expect(status.find((h) => h.host === 'stg-1')).toMatchObject({ version: '1.5.0' });

    process.kill(second.pid, 'SIGKILL');
    for (let i = 0; i < 50 && alive(second.pid); i++) await new Promise((r) => setTimeout(r, 100));
    expect(processesUsing(dir).length).toBeGreaterThan(0);
    const down = await fleetwave(['lab', 'down'], 90_000);
    expect(down.code, down.stderr).toBe(0);
    expect(processesUsing(dir)).toEqual([]);
  }, 600_000);
});
