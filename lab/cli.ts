/**
 * `fleetwave lab up|down|status`. `up` starts a background lab process
 * (lab/daemon.ts) and returns once it has written lab-data/lab.json; `down`
 * asks it to stop everything it started.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT, info, print, printJson, table } from '../cli/output';
import { labDir, readLabFile } from '../cli/target';
import { stopPostgres } from './postgres';

const DAEMON = fileURLToPath(new URL('./daemon.ts', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function labUp(opts: { hosts?: string; json?: boolean }): Promise<number> {
  const dir = labDir();
  const existing = readLabFile(dir);
  if (existing && alive(existing.pid)) {
    info(`a lab is already running (pid ${existing.pid}); \`fleetwave lab down\` stops it`);
    return EXIT.ok;
  }
  rmSync(join(dir, 'lab.json'), { force: true });
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, 'lab.log');
  const out = openSync(logFile, 'w');
  const hosts = Number(opts.hosts ?? 4);
  if (!Number.isInteger(hosts) || hosts < 0 || hosts > 50) {
    info('--hosts must be a whole number from 0 to 50');
    return EXIT.invalidInput;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', DAEMON, '--dir', dir, '--hosts', String(hosts)], {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  child.unref();
  info(`starting the lab in ${dir} (log: ${logFile})`);
  for (let i = 0; i < 1200; i++) {
    const lab = readLabFile(dir);
    if (lab) {
      if (opts.json) printJson(lab);
      else {
        print(`lab up (pid ${lab.pid})`);
        print(table(lab.hosts.map((h) => ({ host: h.id, instance: h.instanceId, mode: h.mode, health: h.healthUrl }))));
        if (lab.console) print(`\nconsole: ${lab.console.url}  (sign in as ${lab.console.username}; the password is console.password in ${join(dir, 'lab.json')})`);
        if (lab.endpoints.api) print(`operator API: ${lab.endpoints.api}  (IAM: SigV4 with the lab's credentials)`);
        print(`\nnext: npx fleetwave status   |   npx fleetwave host upgrade --host ${lab.hosts[0]?.id ?? 'H'} --version 1.5.0 --wait`);
      }
      return EXIT.ok;
    }
    if (!alive(child.pid!)) {
      info(`the lab failed to start:\n${readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n')}`);
      return EXIT.failed;
    }
    await sleep(200);
  }
  info('the lab did not come up within 240 s; see the log');
  return EXIT.failed;
}

export async function labDown(): Promise<number> {
  const dir = labDir();
  const lab = readLabFile(dir);
  if (!lab) {
    // a crashed lab can leave its PostgreSQL running
    if (existsSync(join(dir, 'pg', 'postmaster.pid'))) stopPostgres(join(dir, 'pg'));
    info('no lab is running');
    return EXIT.ok;
  }
  if (alive(lab.pid)) {
    process.kill(lab.pid, 'SIGTERM');
    for (let i = 0; i < 300 && alive(lab.pid); i++) await sleep(100);
    if (alive(lab.pid)) process.kill(lab.pid, 'SIGKILL');
  }
  if (existsSync(join(dir, 'pg', 'postmaster.pid'))) stopPostgres(join(dir, 'pg'));
  rmSync(join(dir, 'lab.json'), { force: true });
  print('lab down');
  return EXIT.ok;
}

export async function labStatus(opts: { json?: boolean }): Promise<number> {
  const lab = readLabFile();
  if (!lab || !alive(lab.pid)) {
    if (opts.json) printJson({ running: false });
    else print('no lab is running (`fleetwave lab up` starts one)');
    return EXIT.ok;
  }
  if (opts.json) printJson({ running: true, ...lab });
  else {
    print(`lab running (pid ${lab.pid}) in ${lab.dir}`);
    print(table(Object.entries(lab.endpoints).map(([service, url]) => ({ service, url }))));
  }
  return EXIT.ok;
}
