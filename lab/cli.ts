/**
 * `fleetwave lab up|down|status`. `up` starts a background lab process
 * (lab/daemon.ts) and returns once it has written lab-data/lab.json; `down`
 * asks it to stop everything it started. Either way, whatever an earlier lab
 * left running (a killed lab process, its PostgreSQL, host apps, scripts) is
 * found and stopped first (lab/lifecycle.ts), so a crash never leaves two
 * labs on one folder.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT, info, print, printJson, table } from '../cli/output';
import { labDir, readLabFile } from '../cli/target';
import { alive, recordDaemon, stopLeftovers } from './lifecycle';

const DAEMON = fileURLToPath(new URL('./daemon.ts', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function labUp(opts: { hosts?: string; json?: boolean; fresh?: boolean }): Promise<number> {
  const dir = labDir();
  const existing = readLabFile(dir);
  if (existing && alive(existing.pid)) {
    info(`a lab is already running (pid ${existing.pid}); \`fleetwave lab down\` stops it`);
    return EXIT.ok;
  }
  const hosts = Number(opts.hosts ?? 4);
  if (!Number.isInteger(hosts) || hosts < 0 || hosts > 50) {
    info('--hosts must be a whole number from 0 to 50');
    return EXIT.invalidInput;
  }
  mkdirSync(dir, { recursive: true });
  const left = await stopLeftovers(dir);
  if (left.length > 0) info(`stopped what an earlier lab left running: ${left.join(', ')}`);
  rmSync(join(dir, 'lab.json'), { force: true });
  const logFile = join(dir, 'lab.log');
  const out = openSync(logFile, 'a');
  const args = ['--import', 'tsx', DAEMON, '--dir', dir, '--hosts', String(hosts), ...(opts.fresh ? ['--fresh'] : [])];
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', out, out],
    // FLEETWAVE_LAB_DIR marks the lab process and everything it starts as this lab's (lab/lifecycle.ts)
    env: { ...process.env, FLEETWAVE_LAB_DIR: dir, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  child.unref();
  recordDaemon(dir, child.pid!);
  info(`starting the lab in ${dir}${opts.fresh ? ', from nothing (--fresh)' : ''} (log: ${logFile})`);
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
  if (lab && alive(lab.pid)) {
    // the lab process stops its hosts and servers itself; anything it could not is swept below
    process.kill(lab.pid, 'SIGTERM');
    for (let i = 0; i < 300 && alive(lab.pid); i++) await sleep(100);
  }
  const left = await stopLeftovers(dir);
  rmSync(join(dir, 'lab.json'), { force: true });
  if (!lab && left.length === 0) info('no lab is running');
  else if (left.length > 0) info(`stopped what the lab left running: ${left.join(', ')}`);
  print('lab down (registry, objects and hosts kept; `lab up --fresh` starts from nothing)');
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
