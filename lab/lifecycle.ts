/**
 * What a lab leaves running, and how `lab up` / `lab down` find and stop it
 * even when the lab process itself is gone (killed, crashed, the machine's
 * OOM killer): the lab process and its process group (it was started
 * detached, so it leads one), the lab's PostgreSQL (postmaster.pid under
 * `pg/`), every host's app process (`hosts/<id>/state/app.json`), and last,
 * any process still tied to the lab folder: an argument of its command line
 * is an absolute path in the folder, or its environment's FLEETWAVE_LAB_DIR
 * or FLEETWAVE_HOST_ROOT does (a host's scripts and every helper they start
 * carry FLEETWAVE_HOST_ROOT; the lab process and what it starts,
 * FLEETWAVE_LAB_DIR). The caller and its ancestors are never touched, nor a
 * shell that merely sits in the folder.
 *
 * The sweep reads /proc (Linux, as the lab's hosts are); elsewhere only the
 * recorded processes are stopped.
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { isAlive, readApp } from './hosts/state';
import { stopPostgres } from './postgres';

const DAEMON_PID = 'daemon.pid';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A live process, not a zombie (the lab hosts' own check). */
export const alive = isAlive;

/** Recorded by `lab up` as soon as it has started the lab process (before the lab is ready). */
export function recordDaemon(dir: string, pid: number): void {
  writeFileSync(join(dir, DAEMON_PID), `${pid}\n`);
}

export function recordedDaemon(dir: string): number | null {
  try {
    const pid = Number(readFileSync(join(dir, DAEMON_PID), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

const MARKERS = ['FLEETWAVE_LAB_DIR=', 'FLEETWAVE_HOST_ROOT='];

function labFilePid(dir: string): number | null {
  try {
    const pid = (JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')) as { pid?: unknown }).pid;
    return typeof pid === 'number' ? pid : null;
  } catch {
    return null;
  }
}

/** Does this process belong to the lab in `dir`? */
function tiedTo(pid: number, dir: string): boolean {
  const inDir = (text: string) => text === dir || text.startsWith(dir + sep);
  try {
    if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some(inDir)) return true;
    return readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .some((kv) => MARKERS.some((m) => kv.startsWith(m) && inDir(kv.slice(m.length))));
  } catch {
    return false; // gone, or not ours to read
  }
}

function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/**
 * This process, the ones that started it and the ones it started (tsx's
 * esbuild service inherits FLEETWAVE_LAB_DIR from a test that sets it):
 * never swept.
 */
function selfAndKin(): Set<number> {
  const out = new Set<number>([process.pid]);
  for (let pid = process.ppid; pid > 1 && !out.has(pid); pid = parentOf(pid) ?? 0) out.add(pid);
  if (!existsSync('/proc')) return out;
  const parents = new Map<number, number>();
  for (const e of readdirSync('/proc')) if (/^\d+$/.test(e)) parents.set(Number(e), parentOf(Number(e)) ?? 0);
  const mine = new Set<number>([process.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of parents) if (!mine.has(pid) && mine.has(ppid)) (mine.add(pid), (grew = true));
  }
  for (const pid of mine) out.add(pid);
  return out;
}

function signal(pid: number, sig: NodeJS.Signals, group: boolean): void {
  try {
    process.kill(group ? -pid : pid, sig);
  } catch {
    /* already gone */
  }
}

/** SIGTERM, up to `graceMs` to exit, then SIGKILL; a group leader takes its group with it. */
async function terminate(pids: number[], graceMs: number): Promise<void> {
  const leaders = new Set(pids.filter((pid) => isGroupLeader(pid)));
  for (const pid of pids) signal(pid, 'SIGTERM', leaders.has(pid));
  for (let waited = 0; waited < graceMs && pids.some(alive); waited += 100) await sleep(100);
  for (const pid of pids) if (alive(pid) || leaders.has(pid)) signal(pid, 'SIGKILL', leaders.has(pid));
}

function isGroupLeader(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pid;
  } catch {
    return false;
  }
}

/**
 * Stops everything a lab in `dir` left running and says what it stopped.
 * Safe when nothing is running; leaves the lab's data (registry, objects,
 * hosts) as it is.
 */
export async function stopLeftovers(dirIn: string, options: { graceMs?: number } = {}): Promise<string[]> {
  const dir = resolve(dirIn);
  const grace = options.graceMs ?? 10_000;
  const stopped: string[] = [];
  const spared = selfAndKin();

  for (const daemon of new Set([recordedDaemon(dir), labFilePid(dir)])) {
    if (daemon === null || spared.has(daemon) || !alive(daemon) || !tiedTo(daemon, dir)) continue;
    await terminate([daemon], grace);
    stopped.push(`lab process ${daemon}`);
  }
  rmSync(join(dir, DAEMON_PID), { force: true });

  const pgDir = join(dir, 'pg');
  if (existsSync(join(pgDir, 'postmaster.pid'))) {
    const pid = Number(readFileSync(join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (alive(pid)) stopped.push(`PostgreSQL ${pid}`);
    stopPostgres(pgDir);
  }

  const hostsDir = join(dir, 'hosts');
  const apps = (existsSync(hostsDir) ? readdirSync(hostsDir) : [])
    .map((id) => ({ id, app: readApp(join(hostsDir, id)) }))
    .filter((h): h is { id: string; app: NonNullable<typeof h.app> } => h.app !== null && alive(h.app.pid) && !spared.has(h.app.pid));
  await terminate(apps.map((h) => h.app.pid), 2000);
  stopped.push(...apps.map((h) => `host ${h.id} app ${h.app.pid}`));

  if (existsSync('/proc')) {
    const rest = readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .map(Number)
      .filter((pid) => !spared.has(pid) && alive(pid) && tiedTo(pid, dir));
    await terminate(rest, 2000);
    stopped.push(...rest.map((pid) => `process ${pid}`));
  }
  return stopped;
}
