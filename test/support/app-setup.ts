/**
 * Synthesizes the app once per test run, esbuild bundles included, the way
 * `lab up` does (lab/lab.ts `synthesize`), for every lab of the run: each
 * lab loads the same definitions and bundles and keeps its own endpoints,
 * registry database and data folder.
 *
 * The synth runs in a child process so that the files that do not need it
 * (unit, integration, infra, lab; the sequencer runs them first) are not
 * held up; test/support/lab.ts waits for `ready` (or `failed`) in the folder
 * handed to tests through `inject('labAssembly')`.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'fleetwave-test-app-'));
  const log = openSync(join(dir, 'synth.log'), 'w');
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/synth-app.ts', dir], { cwd: REPO, stdio: ['ignore', log, log] });
  closeSync(log);
  const fail = (why: string) => {
    if (!existsSync(join(dir, 'ready'))) writeFileSync(join(dir, 'failed'), why);
  };
  child.on('error', (err) => fail(err.message));
  child.on('exit', (code, signal) => fail(`the synth process ended with ${signal ?? `exit code ${code}`}`));
  project.provide('labAssembly', dir);
  return () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
    rmSync(dir, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Folder of the run's synthesized app: `cdk.out/`, `synth.log`, then `ready` or `failed`. */
    labAssembly: string;
  }
}
