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
 *
 * Vitest runs a project's global setup once per project, each in its own
 * module instance; the projects that need the app (workflows, browser) share
 * one synth, kept on the vitest process's globalThis like the PostgreSQL
 * server (test/support/postgres-setup.ts): a second synth would only compete
 * for the two cores with the files running meanwhile.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));

interface SharedSynth {
  dir: string;
  users: number;
  stop(): void;
}

const KEY = Symbol.for('fleetwave.test.app');
const holder = globalThis as { [KEY]?: SharedSynth };

function startShared(): SharedSynth {
  const dir = mkdtempSync(join(tmpdir(), 'fleetwave-test-app-'));
  const log = openSync(join(dir, 'synth.log'), 'w');
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/synth-app.ts', dir], { cwd: REPO, stdio: ['ignore', log, log] });
  closeSync(log);
  const fail = (why: string) => {
    if (!existsSync(join(dir, 'ready'))) writeFileSync(join(dir, 'failed'), why);
  };
  child.on('error', (err) => fail(err.message));
  child.on('exit', (code, signal) => fail(`the synth process ended with ${signal ?? `exit code ${code}`}`));
  return {
    dir,
    users: 0,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function setup(project: TestProject): () => void {
  const shared = (holder[KEY] ??= startShared());
  shared.users++;
  project.provide('labAssembly', shared.dir);
  return () => {
    if (--shared.users > 0) return;
    delete holder[KEY];
    shared.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Folder of the run's synthesized app: `cdk.out/`, `synth.log`, then `ready` or `failed`. */
    labAssembly: string;
  }
}
