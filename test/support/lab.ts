/**
 * A whole lab for a workflow test file: real PostgreSQL (the suite's server
 * through DATABASE_URL), s3rver, SSM agents running the real documents with
 * bash against simulated hosts, and the state machines and bundled handlers
 * of the app synthesized once per run (test/support/app-setup.ts). One lab
 * per file; hosts per test.
 */
import { GetExecutionHistoryCommand, SFNClient, type HistoryEvent } from '@aws-sdk/client-sfn';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inject } from 'vitest';
import { startExecution, waitForExecution, type ExecutionResult } from '../../cli/executions';
import { createLabFleet, startLabHosts, stopLabFleet, type LabFleetHost, type LabFleetSettings, type LabHostSpec } from '../../lab/fleet';
import { startLab, type Lab } from '../../lab/lab';

export interface TestLab {
  lab: Lab;
  sfn: SFNClient;
  hosts: LabFleetHost[];
  /** Start hosts and add them to the fleet through `fleet apply`'s function; `settings` (the fleet file's) replace the fleet's. */
  addHosts(fleetId: string, specs: LabHostSpec[], settings?: LabFleetSettings): Promise<LabFleetHost[]>;
  /** Start hosts that no fleet lists yet (an operator's fleet file registers them). */
  startHosts(specs: LabHostSpec[]): Promise<LabFleetHost[]>;
  upgrade(hostId: string, version: string, extra?: Record<string, unknown>): Promise<ExecutionResult>;
  rollback(input: Record<string, unknown>): Promise<ExecutionResult>;
  /** An execution's whole history, every page of GetExecutionHistory. */
  history(executionArn: string): Promise<HistoryEvent[]>;
  close(): Promise<void>;
}

export interface TestLabOptions {
  /** Receives every lab log line, including each Lambda log line as `[function] line`. */
  log?: (line: string) => void;
  /** Start the lab's own PostgreSQL under its folder instead of using the suite's server (a test that restarts it). */
  ownPostgres?: boolean;
  /** false: start with an empty registry (no release catalog either). */
  registerReleases?: boolean;
}

let counter = 0;

/** The run's synthesized app (test/support/app-setup.ts), once its synth has finished. */
async function labAssemblyDir(): Promise<string> {
  const folder = inject('labAssembly');
  for (;;) {
    if (existsSync(join(folder, 'ready'))) return join(folder, 'cdk.out');
    if (existsSync(join(folder, 'failed'))) {
      const log = readFileSync(join(folder, 'synth.log'), 'utf8');
      throw new Error(`synthesizing the app for the labs failed (${readFileSync(join(folder, 'failed'), 'utf8')}):\n${log.slice(-4000)}`);
    }
    await sleep(250);
  }
}

export async function startTestLab(opts: TestLabOptions = {}): Promise<TestLab> {
  const assemblyDir = await labAssemblyDir();
  const dir = mkdtempSync(join(tmpdir(), 'fw-lab-'));
  // each lab gets its own registry database on the suite's server
  const admin = new URL(inject('databaseUrl'));
  const prev = process.env.DATABASE_URL;
  if (opts.ownPostgres) delete process.env.DATABASE_URL;
  else process.env.DATABASE_URL = admin.toString();
  const lab = await startLab({ dir, assemblyDir, timeScale: 0.02, databaseName: `fw_lab_${process.pid}_${counter++}`, log: opts.log, registerReleases: opts.registerReleases });
  if (prev === undefined) delete process.env.DATABASE_URL;
  else process.env.DATABASE_URL = prev;
  for (const [k, v] of Object.entries(lab.env)) process.env[k] = v;
  const sfn = new SFNClient({});
  const hosts: LabFleetHost[] = [];
  let n = 0;
  const name = (parts: string[]) => `${parts.join('-').replace(/[^A-Za-z0-9_-]/g, '_')}-${Date.now().toString(36)}-${n++}`.slice(0, 80);
  return {
    lab,
    sfn,
    hosts,
    async addHosts(fleetId, specs, settings) {
      const made = await createLabFleet(lab, fleetId, specs, settings);
      hosts.push(...made);
      return made;
    },
    async startHosts(specs) {
      const made = await startLabHosts(lab, specs);
      hosts.push(...made);
      return made;
    },
    async upgrade(hostId, version, extra = {}) {
      const { executionArn } = await startExecution(sfn, lab.stateMachines.hostUpgrade, name([hostId, version]), { hostId, version, ...extra });
      return waitForExecution(sfn, executionArn, () => undefined, 100);
    },
    async rollback(input) {
      const { executionArn } = await startExecution(sfn, lab.stateMachines.hostRollback, name([String(input.hostId), 'rollback']), input);
      return waitForExecution(sfn, executionArn, () => undefined, 100);
    },
    async history(executionArn) {
      const events: HistoryEvent[] = [];
      let nextToken: string | undefined;
      do {
        const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken }));
        events.push(...(page.events ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
      return events;
    },
    async close() {
      await stopLabFleet(hosts, lab);
      await lab.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
