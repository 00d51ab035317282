/**
 * The lab as the benchmarks run it: the real synthesized state machines and
 * bundled handlers (lab/lab.ts) on a PostgreSQL of the bench's own with
 * pg_stat_statements loaded (so registry queries are counted by the server,
 * whatever process sends them), fleets of simulated agents
 * (lab/ssm/sim-agent.ts) registered through the product's `fleet apply`
 * function, and the measurements read afterwards: execution histories, state
 * transitions, registry calls, peak memory of the bench's process.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { startLab, synthesize, type Lab } from '../lab/lab';
import { startPostgres, stopPostgres, type PostgresServer } from '../lab/postgres';
import { applyLabFleet, labInstanceId, stopLabFleet, type LabFleetHost } from '../lab/fleet';
import { readHistoryDir } from '../lab/sfn/history';
import { hostAwsEnv, startHostCredentials } from '../lab/hosts/credentials';
import { createSimAgent, type SimAgent } from '../lab/ssm/sim-agent';
import type { LabFleetSettings } from '../lab/fleet';

export interface BenchLab {
  lab: Lab;
  server: PostgresServer;
  /** Real simulated hosts the bench started: stopped (their apps, their databases) by close. */
  hosts: LabFleetHost[];
  close(): Promise<void>;
}

const REGISTRY_DB = 'fleetwave';

/** What the synthesized app is made of: a stale assembly would run old documents and handlers. */
const SOURCES = ['lib', 'state-machines', 'lambdas', 'core', 'ssm-documents', 'releases'];

function sourceStamp(): string {
  const repo = resolve(import.meta.dirname, '..');
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else h.update(`${full}\0`).update(readFileSync(full));
    }
  };
  for (const d of SOURCES) walk(join(repo, d));
  return h.digest('hex').slice(0, 12);
}

/** The app synthesized once per bench folder and source state (bundling takes a while). */
export function benchAssembly(root: string, log: (l: string) => void): string {
  const dir = join(root, `assembly-${sourceStamp()}`);
  if (!existsSync(join(dir, 'manifest.json'))) {
    log(`synthesizing the CDK app into ${dir}`);
    const tmp = `${dir}.tmp-${process.pid}`;
    synthesize(tmp);
    try {
      renameSync(tmp, dir);
    } catch (err) {
      // another bench synthesized the same sources meanwhile: use its assembly
      if (!existsSync(join(dir, 'manifest.json'))) throw err;
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return dir;
}

async function sql<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

export async function startBenchLab(root: string, name: string, waitScale: number, log: (l: string) => void): Promise<BenchLab> {
  const assemblyDir = benchAssembly(root, log);
  const dir = join(root, name);
  // every run starts from nothing: a registry kept from an earlier run refuses the same run ids
  stopPostgres(join(dir, 'server'));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const server = await startPostgres(join(dir, 'server'));
  await sql(server.url, "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'");
  await server.restart();
  const prev = process.env.DATABASE_URL;
  process.env.DATABASE_URL = server.url;
  try {
    const lab = await startLab({ dir: join(dir, 'lab'), assemblyDir, timeScale: waitScale, databaseName: REGISTRY_DB, log });
    for (const [k, v] of Object.entries(lab.env)) process.env[k] = v;
    await sql(server.url, 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const hosts: LabFleetHost[] = [];
    return {
      lab,
      server,
      hosts,
      close: async () => {
        await stopLabFleet(hosts, lab);
        await lab.close();
        await server.stop();
      },
    };
  } finally {
    if (prev === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = prev;
  }
}

/** Registry statements executed since the last reset, counted by the server. */
export async function registryCalls(b: BenchLab, reset = false): Promise<number> {
  const rows = await sql<{ calls: string | null }>(
    b.server.url,
    `SELECT sum(calls)::text AS calls FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '${REGISTRY_DB}')`,
  );
  if (reset) await sql(b.server.url, 'SELECT pg_stat_statements_reset()');
  return Number(rows[0]?.calls ?? 0);
}

export interface SimFleet {
  fleetId: string;
  hostIds: string[];
  agent: SimAgent;
  /** Hosts whose simulated agent runs `version` now. */
  upgraded(version: string): number;
}

/**
 * `n` simulated hosts (5 % staging, as the default waves expect at least one)
 * answering every document after `stepMs`, registered as fleet `fleetId`.
 */
export async function simFleet(b: BenchLab, fleetId: string, n: number, stepMs: number, fromVersion: string, settings: LabFleetSettings): Promise<SimFleet> {
  const agent = createSimAgent({ stepMs, initialVersion: fromVersion });
  const staging = Math.max(1, Math.round(n / 20));
  const hosts = Array.from({ length: n }, (_, i) => {
    const id = `${fleetId}-h${i + 1}`;
    return { id, instanceId: labInstanceId(id), tier: i < staging ? ('staging' as const) : ('production' as const), databaseMode: 'embedded' as const, composeDir: `/srv/${id}`, healthUrl: 'http://127.0.0.1:8080/health' };
  });
  const hostsDir = join(b.lab.dir, 'sim-hosts');
  for (const h of hosts) {
    const root = join(hostsDir, h.id);
    // the node's own role session and S3 endpoint, as lab/fleet.ts gives a real lab host
    startHostCredentials({ root, hostId: h.id, instanceId: h.instanceId, sts: b.lab.sts, clock: b.lab.clock });
    b.lab.ssm.registerInstance({ instanceId: h.instanceId, hostRoot: root, computerName: h.id, env: { PATH: process.env.PATH ?? '', ...hostAwsEnv(root, b.lab.s3.endpoint) }, runStep: agent.runStep });
  }
  await applyLabFleet(b.lab, fleetId, settings, hosts);
  return { fleetId, hostIds: hosts.map((h) => h.id), agent, upgraded: (v) => hosts.filter((h) => agent.versionOf(h.instanceId) === v).length };
}

export interface RolloutRun {
  status: string;
  wallMs: number;
  error?: string;
  /** The cap was reached before the rollout ended (it was stopped). */
  capped: boolean;
}

/** FleetRollout for the fleet, as `fleetwave rollout start --wait` starts it; stopped at `capMs`. */
export async function runRollout(b: BenchLab, fleetId: string, version: string, capMs = Number.POSITIVE_INFINITY): Promise<RolloutRun> {
  const engine = b.lab.sfn.engine;
  const t0 = performance.now();
  const { executionArn } = engine.startExecution({ stateMachineArn: b.lab.stateMachines.fleetRollout!, name: `${fleetId}--bench`, input: JSON.stringify({ fleetId, version, requestedBy: 'bench' }) });
  for (;;) {
    const d = engine.describeExecution(executionArn);
    if (d.status !== 'RUNNING') return { status: d.status, wallMs: performance.now() - t0, error: d.error ? `${d.error}: ${d.cause ?? ''}` : undefined, capped: false };
    if (performance.now() - t0 > capMs) {
      await engine.stopExecution({ executionArn, error: 'BenchCap', cause: 'the bench time cap was reached' });
      return { status: 'STOPPED', wallMs: performance.now() - t0, capped: true };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface HistoryStats {
  executions: number;
  /** The largest history (events) of any execution, and which. */
  largest: { events: number; machine: string; name: string };
  /** StateEntered events over every execution: the state transitions Step Functions counts. */
  stateTransitions: number;
  byMachine: Record<string, number>;
}

export interface ExecutionCost {
  machine: string;
  name: string;
  status: string;
  startDate: number;
  stopDate?: number;
  events: number;
  /** StateEntered events: the state transitions Step Functions counts. */
  transitions: number;
}

/** Every execution the lab recorded, with its history's size. */
export function historyOf(b: BenchLab): ExecutionCost[] {
  return readHistoryDir(join(b.lab.dir, 'history')).map(({ execution, events }) => ({
    machine: execution.stateMachineArn.split(':').pop() ?? '',
    name: execution.name,
    status: execution.status,
    startDate: execution.startDate,
    stopDate: execution.stopDate,
    events: events.length,
    transitions: events.filter((e) => e.type.endsWith('StateEntered')).length,
  }));
}

export function historyStats(b: BenchLab): HistoryStats {
  const all = historyOf(b);
  const stats: HistoryStats = { executions: all.length, largest: { events: 0, machine: '', name: '' }, stateTransitions: 0, byMachine: {} };
  for (const x of all) {
    stats.byMachine[x.machine] = (stats.byMachine[x.machine] ?? 0) + 1;
    stats.stateTransitions += x.transitions;
    if (x.events > stats.largest.events) stats.largest = { events: x.events, machine: x.machine, name: x.name };
  }
  return stats;
}

/** Resident memory of this process and its children (/proc), sampled until stopped; peak in bytes. */
export function memorySampler(intervalMs = 1000): { stop(): number } {
  let peak = 0;
  const sample = () => {
    const pids = [process.pid, ...descendants(process.pid)];
    let rss = 0;
    for (const pid of pids) {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        rss += m ? Number(m[1]) * 1024 : 0;
      } catch {
        // gone meanwhile
      }
    }
    peak = Math.max(peak, rss, process.memoryUsage().rss);
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(entry), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const frontier = [root];
  while (frontier.length > 0) {
    const p = frontier.pop()!;
    for (const [pid, pp] of parent) if (pp === p) (out.push(pid), frontier.push(pid));
  }
  return out;
}
