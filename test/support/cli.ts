/**
 * Running the fleetwave CLI in-process against a test lab, the way an
 * operator's shell would: `main(argv)` with FLEETWAVE_LAB_DIR pointing at a
 * folder holding the lab's lab.json. stdout/stderr are captured per call;
 * calls are serialized because the capture swaps the process's writers.
 */
import { writeLabFile } from '../../lab/lab';
import { main } from '../../cli/program';
import type { TestLab } from './lab';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

let queue: Promise<unknown> = Promise.resolve();

type Write = typeof process.stdout.write;

/** `fleetwave <args...>` in this process; resolves with the exit code and what it printed. */
export function runCli(args: string[]): Promise<CliRun> {
  const run = async (): Promise<CliRun> => {
    let stdout = '';
    let stderr = '';
    const outWrite = process.stdout.write;
    const errWrite = process.stderr.write;
    const capture =
      (sink: (s: string) => void): Write =>
      ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        sink(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
        cb?.();
        return true;
      }) as Write;
    process.stdout.write = capture((s) => (stdout += s));
    process.stderr.write = capture((s) => (stderr += s));
    try {
      const code = await main(['node', 'fleetwave', ...args]);
      return { code, stdout, stderr };
    } finally {
      process.stdout.write = outWrite;
      process.stderr.write = errWrite;
    }
  };
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}

/** Parse a `--json` command's stdout; fails the test with what was printed when it is not JSON. */
export function jsonOf<T = unknown>(r: CliRun): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`expected JSON on stdout (exit ${r.code}); stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
}

/**
 * Make the CLI target this test lab: write lab.json (with the lab's hosts) into
 * the lab's folder and point FLEETWAVE_LAB_DIR at it. Call again after adding hosts.
 */
export function pointCliAtLab(t: TestLab): string {
  delete process.env.FLEETWAVE_CONFIG;
  writeLabFile(
    t.lab,
    t.hosts.map((h) => ({ id: h.id, root: h.root, instanceId: h.instanceId, mode: h.mode, healthUrl: h.healthUrl })),
  );
  process.env.FLEETWAVE_LAB_DIR = t.lab.dir;
  return t.lab.dir;
}
