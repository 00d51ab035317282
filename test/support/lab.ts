/**
 * A whole lab for a workflow test file: real PostgreSQL (the suite's server
 * through DATABASE_URL), s3rver, SSM agents running the real documents with
 * bash against simulated hosts, and the state machines and bundled handlers
 * of the app synthesized once per run (test/support/app-setup.ts). One lab
 * per file; hosts per test.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { startExecution, waitForExecution, type ExecutionResult } from '../../cli/executions';
import { createLabFleet, stopLabFleet, type LabFleetHost, type LabHostSpec } from '../../lab/fleet';
import { startLab, type Lab } from '../../lab/lab';

export interface TestLab {
  lab: Lab;
  sfn: SFNClient;
  hosts: LabFleetHost[];
  addHosts(fleetId: string, specs: LabHostSpec[]): Promise<LabFleetHost[]>;
  upgrade(hostId: string, version: string, extra?: Record<string, unknown>): Promise<ExecutionResult>;
  rollback(input: Record<string, unknown>): Promise<ExecutionResult>;
  close(): Promise<void>;
}

export interface TestLabOptions {
  /** Receives every lab log line, including each Lambda log line as `[function] line`. */
  log?: (line: string) => void;
}

let counter = 0;

export async function startTestLab(opts: TestLabOptions = {}): Promise<TestLab> {
  const dir = mkdtempSync(join(tmpdir(), 'fw-lab-'));
  // each lab gets its own registry database on the suite's server
  const admin = new URL(inject('databaseUrl'));
  const prev = process.env.DATABASE_URL;
  process.env.DATABASE_URL = admin.toString();
  const lab = await startLab({ dir, assemblyDir: inject('labAssemblyDir'), waitScale: 0.02, databaseName: `fw_lab_${process.pid}_${counter++}`, log: opts.log });
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
    async addHosts(fleetId, specs) {
      const made = await createLabFleet(lab, fleetId, specs);
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
    async close() {
      await stopLabFleet(hosts, lab);
      await lab.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
