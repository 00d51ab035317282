/**
 * Synthesizes the app once per test run, esbuild bundles included, the way
 * `lab up` does (lab/lab.ts `synthesize`), and hands the cloud assembly's
 * folder to tests through `inject('labAssemblyDir')`. Every lab in the run
 * loads the same definitions and bundles from it; each keeps its own
 * endpoints, registry database and data folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { synthesize } from '../../lab/lab';

export function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'fleetwave-test-app-'));
  const assemblyDir = join(dir, 'cdk.out');
  synthesize(assemblyDir);
  project.provide('labAssemblyDir', assemblyDir);
  return () => rmSync(dir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    labAssemblyDir: string;
  }
}
