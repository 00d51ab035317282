/**
 * The lab's SSM agent: runs one `aws:runShellScript` step exactly the way
 * amazon-ssm-agent does on Linux (agent/plugins/runscript, agent/executers):
 *
 * - the runCommand lines, joined with "\n" plus a final "\n", are written to
 *   `<orchestration>/<step>/_script.sh` (mode 0700);
 * - the agent runs `sh -c <scriptPath>`, so a `#!` line picks the interpreter
 *   and a script without one runs under `sh`;
 * - the process leads its own process group; on execution timeout or cancel
 *   the whole group gets SIGKILL and the exit code is 137
 *   (appconfig.CommandStoppedPreemptivelyExitCode);
 * - stdout and stderr go to `stdout` / `stderr` files in that directory;
 * - the step ends when the shell has exited *and* every holder of its
 *   stdout/stderr closed them (Go's cmd.Wait semantics), so a script that
 *   leaves a background child attached to its output hangs until the timeout,
 *   as on a real host.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { RenderedStep } from './document';

/** appconfig.CommandStoppedPreemptivelyExitCode on Linux: 128 + SIGKILL. */
export const STOPPED_PREEMPTIVELY_EXIT_CODE = 137;

export interface CapturedOutput {
  /** Full output on disk, as the agent keeps it. */
  path: string;
  /** The first `headChars` characters, for the inline *Content fields. */
  head: string;
  bytes: number;
}

export interface StepResult {
  exitCode: number;
  /** `timedOut` and `cancelled` are set only when the agent killed the process. */
  stoppedBy: 'timeout' | 'cancel' | null;
  stdout: CapturedOutput;
  stderr: CapturedOutput;
  startedAt: number;
  endedAt: number;
}

export interface RunStepOptions {
  /** `<hostRoot>/ssm/orchestration/<commandId>` */
  orchestrationDir: string;
  step: RenderedStep;
  /** The step's execution timeout in real milliseconds (its `timeoutSeconds` on the lab's clock). */
  timeoutMs: number;
  /** The agent's own working directory, used when the step names none. */
  agentWorkingDirectory: string;
  /** The agent process's environment (what os.Environ() returns on the host). */
  agentEnv: Record<string, string>;
  /** Variables the agent adds per command (AWS_SSM_*, SSM_COMMAND_ID). */
  extraEnv: Record<string, string>;
  /** How many characters of each stream to keep in memory. */
  headChars: { stdout: number; stderr: number };
}

export interface RunningStep {
  readonly pid: number | undefined;
  readonly result: Promise<StepResult>;
  /** Kill the process group; the step ends with status Cancelled. */
  cancel(): void;
}

/** Keeps the first `limitChars` characters of a byte stream (UTF-8). */
class HeadBuffer {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  bytes = 0;
  // A character is at most 4 UTF-8 bytes, so this many bytes always hold the head.
  constructor(private readonly limitChars: number) {}
  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    const room = this.limitChars * 4 - this.kept;
    if (room <= 0) return;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(part);
    this.kept += part.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8').slice(0, this.limitChars);
  }
}

export function runShellStep(options: RunStepOptions): RunningStep {
  const dir = join(options.orchestrationDir, options.step.name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const scriptPath = join(dir, '_script.sh');
  writeFileSync(scriptPath, `${options.step.lines.join('\n')}\n`, { mode: 0o700 });
  const stdoutPath = join(dir, 'stdout');
  const stderrPath = join(dir, 'stderr');

  const cwd = options.step.workingDirectory ?? options.agentWorkingDirectory;
  const env = { ...options.agentEnv, ...options.step.env, ...options.extraEnv };
  const startedAt = Date.now();
  const child = spawn('sh', ['-c', scriptPath], {
    cwd,
    env,
    // detached = setsid(): the shell leads a new process group, like Setpgid in the agent.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  const outHead = new HeadBuffer(options.headChars.stdout);
  const errHead = new HeadBuffer(options.headChars.stderr);
  const outFile: WriteStream = createWriteStream(stdoutPath, { mode: 0o600 });
  const errFile: WriteStream = createWriteStream(stderrPath, { mode: 0o600 });
  child.stdout.on('data', (chunk: Buffer) => {
    outHead.push(chunk);
    outFile.write(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    errHead.push(chunk);
    errFile.write(chunk);
  });

  let stoppedBy: StepResult['stoppedBy'] = null;
  const killGroup = (reason: 'timeout' | 'cancel') => {
    if (stoppedBy || child.exitCode !== null || child.pid === undefined) return;
    stoppedBy = reason;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // The group is already gone.
    }
  };
  const timer = setTimeout(() => killGroup('timeout'), options.timeoutMs);

  const result = new Promise<StepResult>((resolve) => {
    let spawnError: Error | undefined;
    child.on('error', (err) => {
      spawnError = err;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // Go reports -1 for a signal death; the agent turns that into 137 only
      // when it did the killing itself.
      let exitCode = code ?? (signal ? -1 : 1);
      if (stoppedBy) exitCode = STOPPED_PREEMPTIVELY_EXIT_CODE;
      if (spawnError) {
        exitCode = 1;
        const message = `failed to run commands: ${spawnError.message}\n`;
        errHead.push(Buffer.from(message));
        errFile.write(message);
      }
      const endedAt = Date.now();
      let open = 2;
      const done = () => {
        open -= 1;
        if (open > 0) return;
        resolve({
          exitCode,
          stoppedBy,
          stdout: { path: stdoutPath, head: outHead.text(), bytes: outHead.bytes },
          stderr: { path: stderrPath, head: errHead.text(), bytes: errHead.bytes },
          startedAt,
          endedAt,
        });
      };
      outFile.end(done);
      errFile.end(done);
    });
  });

  return {
    pid: child.pid,
    result,
    cancel: () => killGroup('cancel'),
  };
}
