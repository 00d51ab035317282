/**
 * Runs the stack's Lambda functions the way Lambda does, on one machine: each
 * function gets a small pool of warm execution environments (worker threads,
 * created lazily and reused), each running one event at a time with the
 * environment the template gives the function plus the lab's endpoints.
 *
 * Fidelity kept on purpose:
 * - init once per environment; module-level SDK clients and pools are reused;
 * - the function's `Timeout` is enforced, compressed by the lab's time scale
 *   (`clock.workLimit`, lab/clock.ts); a timed-out environment is discarded
 *   (Lambda resets the sandbox) and the invocation fails with
 *   `Sandbox.Timedout`, the error type current Lambda runtimes report;
 * - the Init phase (loading the handler module) is not part of the timeout
 *   while it stays within Lambda's 10 seconds (scaled too); past them the
 *   rest of the Init counts against the invocation's timeout, as Lambda
 *   retries the Init "at the time of the first function invocation with the
 *   configured function timeout"
 *   (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html);
 * - errors come back as `{errorType, errorMessage, trace}`, errorType being the
 *   thrown error's `name` (what Step Functions matches in Retry/Catch);
 * - a throttle fault makes the next invocations fail with
 *   `TooManyRequestsException` before any code runs.
 */
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { REAL_TIME, type LabClock } from '../clock';
import type { LabFunction } from '../template';

export interface LambdaFunctionError {
  errorType: string;
  errorMessage: string;
  trace: string[];
}

export interface InvokeResult {
  requestId: string;
  /** 200 for RequestResponse, 202 for Event. */
  statusCode: 200 | 202;
  executedVersion: '$LATEST';
  /** The handler's return value (parsed JSON), undefined when it returned nothing. */
  payload: unknown;
  /** Set when the function itself failed (Lambda's `FunctionError: Unhandled`). */
  functionError?: LambdaFunctionError;
  durationMs: number;
}

/** An error of the Lambda service itself (the Invoke API), not of the function. */
export class LambdaServiceError extends Error {
  override readonly name: string;
  constructor(
    readonly code: 'TooManyRequestsException' | 'ResourceNotFoundException' | 'InvalidRequestContentException' | 'ServiceException',
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
    this.name = code;
  }
}

export interface LambdaRuntimeOptions {
  functions: Record<string, LabFunction> | LabFunction[];
  /** Extra environment (AWS_ENDPOINT_URL_*, credentials, ...), merged over the template's. */
  extraEnv?: Record<string, string> | ((fn: LabFunction) => Record<string, string>);
  /** Concurrent environments per function; Lambda runs one event per environment. Default 4. */
  maxWorkersPerFunction?: number;
  /** Where externals like `@aws-sdk/*` resolve from. Default: this repository's node_modules. */
  nodePaths?: string[];
  /** The lab's one time scale (lab/clock.ts): function timeouts are limits. Default unscaled. */
  clock?: LabClock;
  /** Receives the functions' stdout/stderr lines; default: they go to this process's stdout/stderr. */
  onLog?: (functionName: string, stream: 'stdout' | 'stderr', line: string) => void;
}

export interface FunctionStats {
  invocations: number;
  throttled: number;
  coldStarts: number;
  timeouts: number;
}

export interface LambdaRuntime {
  /** Invokes by function name or ARN (a qualifier is ignored: the lab only has $LATEST). */
  invoke(functionNameOrArn: string, event: unknown, options?: { invocationType?: 'RequestResponse' | 'Event' }): Promise<InvokeResult>;
  resolve(functionNameOrArn: string): LabFunction | undefined;
  /** Fault hook: the next `n` invocations of the function fail with TooManyRequestsException. */
  throttle(functionNameOrArn: string, n: number): void;
  stats(functionNameOrArn: string): FunctionStats;
  close(): Promise<void>;
}

interface Pending {
  resolve: (r: { payload?: string; error?: LambdaFunctionError }) => void;
}

interface Environment {
  worker: Worker;
  /** Resolves when the Init phase is over (the handler module loaded, or failed to). */
  initialized: Promise<void>;
  busy: boolean;
  current: Pending | undefined;
  dead: boolean;
}

interface FunctionPool {
  fn: LabFunction;
  envs: Environment[];
  waiting: Array<(env: Environment) => void>;
  throttleRemaining: number;
  stats: FunctionStats;
}

/** Lambda's Init phase limit for on-demand functions (runtimes-context / lambda-runtime-environment). */
export const INIT_PHASE_LIMIT_MS = 10_000;

const WORKER_FILE = fileURLToPath(new URL('./lambda-worker.cjs', import.meta.url));
const REPO_NODE_MODULES = fileURLToPath(new URL('../../node_modules', import.meta.url));

/** `name`, `arn:...:function:name`, `arn:...:function:name:qualifier`, `acct:function:name`. */
export function functionNameFrom(nameOrArn: string): string {
  const i = nameOrArn.indexOf('function:');
  if (i < 0) return nameOrArn;
  return nameOrArn.slice(i + 'function:'.length).split(':')[0] ?? nameOrArn;
}

export function createLambdaRuntime(options: LambdaRuntimeOptions): LambdaRuntime {
  const list = Array.isArray(options.functions) ? options.functions : Object.values(options.functions);
  const maxWorkers = Math.max(1, options.maxWorkersPerFunction ?? 4);
  const nodePaths = options.nodePaths ?? [REPO_NODE_MODULES];
  const clock = options.clock ?? REAL_TIME;
  const pools = new Map<string, FunctionPool>();
  for (const fn of list) {
    pools.set(fn.functionName, {
      fn,
      envs: [],
      waiting: [],
      throttleRemaining: 0,
      stats: { invocations: 0, throttled: 0, coldStarts: 0, timeouts: 0 },
    });
  }
  let closed = false;

  const poolFor = (nameOrArn: string): FunctionPool => {
    const pool = pools.get(functionNameFrom(nameOrArn));
    if (!pool) {
      throw new LambdaServiceError(
        'ResourceNotFoundException',
        `Function not found: arn:aws:lambda:us-east-1:000000000000:function:${functionNameFrom(nameOrArn)}`,
        404,
      );
    }
    return pool;
  };

  const envFor = (fn: LabFunction): Record<string, string> => {
    const extra = typeof options.extraEnv === 'function' ? options.extraEnv(fn) : (options.extraEnv ?? {});
    return {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      TZ: ':UTC',
      LANG: 'en_US.UTF-8',
      ...fn.env,
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      ...extra,
      // Reserved variables: the Lambda runtime always sets these itself.
      AWS_LAMBDA_FUNCTION_NAME: fn.functionName,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
      AWS_LAMBDA_FUNCTION_TIMEOUT: String(fn.timeoutSeconds),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.functionName}`,
      AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime ?? 'nodejs22.x'}`,
      LAMBDA_TASK_ROOT: fn.handlerFile ? dirname(fn.handlerFile) : '/var/task',
      _HANDLER: `index.${fn.handlerExport}`,
    };
  };

  const pipeLines = (fn: LabFunction, stream: 'stdout' | 'stderr', readable: NodeJS.ReadableStream | null) => {
    if (!readable || !options.onLog) return;
    let buffer = '';
    readable.setEncoding('utf8');
    readable.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        options.onLog!(fn.functionName, stream, buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
      }
    });
  };

  const discard = (pool: FunctionPool, env: Environment) => {
    env.dead = true;
    pool.envs = pool.envs.filter((e) => e !== env);
    void env.worker.terminate();
    // A slot freed up: let a waiting invocation create a fresh environment.
    const next = pool.waiting.shift();
    if (next) next(spawn(pool));
  };

  const spawn = (pool: FunctionPool): Environment => {
    const { fn } = pool;
    if (!fn.handlerFile) throw new LambdaServiceError('ServiceException', `${fn.functionName} has no local handler file`, 500);
    const worker = new Worker(WORKER_FILE, {
      env: envFor(fn),
      workerData: {
        handlerFile: fn.handlerFile,
        handlerExport: fn.handlerExport,
        nodePaths,
        functionName: fn.functionName,
        functionArn: fn.arn,
        memoryMb: fn.memoryMb,
      },
      stdout: Boolean(options.onLog),
      stderr: Boolean(options.onLog),
    });
    pipeLines(fn, 'stdout', worker.stdout);
    pipeLines(fn, 'stderr', worker.stderr);
    let initDone!: () => void;
    const initialized = new Promise<void>((r) => (initDone = r));
    const env: Environment = { worker, initialized, busy: true, current: undefined, dead: false };
    const crash = (err: unknown) => {
      if (env.dead) return;
      const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      env.current?.resolve({ error: { errorType: 'Runtime.ExitError', errorMessage: `RequestId: environment exited: ${message}`, trace: [] } });
      env.current = undefined;
      initDone();
      discard(pool, env);
    };
    worker.on('message', (msg: { type: string; payload?: string; error?: LambdaFunctionError }) => {
      if (msg.type === 'initialized') return initDone();
      const pending = env.current;
      if (!pending) return;
      env.current = undefined;
      pending.resolve(msg.type === 'result' ? { payload: msg.payload } : { error: msg.error });
    });
    worker.on('error', crash);
    worker.on('exit', (code) => crash(new Error(`worker exited with code ${code}`)));
    worker.unref();
    pool.envs.push(env);
    pool.stats.coldStarts++;
    return env;
  };

  const acquire = (pool: FunctionPool): Promise<Environment> => {
    const idle = pool.envs.find((e) => !e.busy && !e.dead);
    if (idle) {
      idle.busy = true;
      return Promise.resolve(idle);
    }
    if (pool.envs.length < maxWorkers) return Promise.resolve(spawn(pool));
    return new Promise((resolve) => pool.waiting.push(resolve));
  };

  const release = (pool: FunctionPool, env: Environment) => {
    if (env.dead) return;
    const next = pool.waiting.shift();
    if (next) next(env);
    else env.busy = false;
  };

  const run = async (pool: FunctionPool, event: unknown, requestId: string): Promise<InvokeResult> => {
    const started = Date.now();
    const { fn } = pool;
    const env = await acquire(pool);
    const timeoutMs = clock.workLimit(fn.timeoutSeconds * 1000);
    const outcome = await new Promise<{ payload?: string; error?: LambdaFunctionError }>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let initTimer: NodeJS.Timeout | undefined;
      const arm = () => {
        if (timer || !env.current) return;
        clearTimeout(initTimer);
        timer = setTimeout(onTimeout, timeoutMs);
      };
      const onTimeout = () => {
        if (env.current) {
          env.current = undefined;
          pool.stats.timeouts++;
          discard(pool, env);
          resolve({
            error: {
              errorType: 'Sandbox.Timedout',
              errorMessage: `RequestId: ${requestId} Error: Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds`,
              trace: [],
            },
          });
        }
      };
      env.current = {
        resolve: (r) => {
          clearTimeout(timer);
          clearTimeout(initTimer);
          resolve(r);
        },
      };
      // The timeout runs from the end of the Init phase, or from its 10 s limit if it takes longer.
      initTimer = setTimeout(arm, clock.limit(INIT_PHASE_LIMIT_MS));
      void env.initialized.then(arm);
      const deadline = Date.now() + timeoutMs;
      env.worker.postMessage({ type: 'invoke', id: requestId, requestId, event: JSON.stringify(event ?? null), deadline });
    });
    release(pool, env);
    return {
      requestId,
      statusCode: 200,
      executedVersion: '$LATEST',
      payload: outcome.payload === undefined ? undefined : JSON.parse(outcome.payload),
      ...(outcome.error ? { functionError: outcome.error } : {}),
      durationMs: Date.now() - started,
    };
  };

  return {
    resolve(nameOrArn) {
      return pools.get(functionNameFrom(nameOrArn))?.fn;
    },

    async invoke(nameOrArn, event, invokeOptions = {}) {
      if (closed) throw new LambdaServiceError('ServiceException', 'the lab Lambda runtime is closed', 500);
      const pool = poolFor(nameOrArn);
      if (pool.throttleRemaining > 0) {
        pool.throttleRemaining--;
        pool.stats.throttled++;
        throw new LambdaServiceError('TooManyRequestsException', 'Rate Exceeded.', 429);
      }
      pool.stats.invocations++;
      const requestId = randomUUID();
      if (invokeOptions.invocationType === 'Event') {
        // Asynchronous invocation: accepted now, run in the background.
        void run(pool, event, requestId).catch(() => undefined);
        return { requestId, statusCode: 202, executedVersion: '$LATEST', payload: undefined, durationMs: 0 };
      }
      return run(pool, event, requestId);
    },

    throttle(nameOrArn, n) {
      poolFor(nameOrArn).throttleRemaining = Math.max(0, Math.floor(n));
    },

    stats(nameOrArn) {
      return { ...poolFor(nameOrArn).stats };
    },

    async close() {
      closed = true;
      const all = [...pools.values()].flatMap((p) => p.envs.map((env) => ({ p, env })));
      for (const { env } of all) env.dead = true;
      await Promise.all(all.map(({ env }) => env.worker.terminate()));
      for (const p of pools.values()) p.envs = [];
    },
  };
}
