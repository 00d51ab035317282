/**
 * The one scaffold every Lambda task is written in (STYLE.md: "one scaffold
 * for every handler").
 *
 *   export const { handler, createHandler } = defineTask({
 *     name: 'poll-step', event: PollStepEvent, env: PollStepEnv,
 *     deps: (env) => ({ ... }),               // built once per container, lazily
 *     run: (input, deps, log) => pollStep(input, deps),
 *   });
 *
 * - The event is parsed with zod at the edge: a bad event fails with
 *   InvalidTaskInputError naming every field, before any dependency is made.
 * - The environment is parsed on the first invocation (never at import, so a
 *   test or a cold start that fails does not poison the module), with the
 *   same schema CDK checked at synth; a failed build is retried next time.
 * - Errors leave with their `name` intact (Step Functions matches it in
 *   Retry/Catch) and a redacted message, and are logged by name. A registry
 *   database that was unreachable or cut the connection (a restart, a
 *   failover) leaves as TransientError, which every Task retries
 *   (core/registry/recovery.ts).
 * - `createHandler(makeDeps)` is the same handler over other dependencies,
 *   for tests.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { z } from 'zod';
import { parseInput } from '../../core/errors';
import { scrubError } from '../../core/redact';
import { asRegistryTransient } from '../../core/registry/recovery';
import { parseEnv } from './env';
import { createLogger } from './logger';

export interface TaskDefinition<E extends z.ZodType, V extends z.ZodType, D, R> {
  /** The function's name in logs (its folder under lambdas/). */
  readonly name: string;
  /** What the state machine sends. */
  readonly event: E;
  /** The function's environment schema (lambdas/shared/env.ts). */
  readonly env: V;
  /** The dependencies, from the parsed environment. */
  readonly deps: (env: z.output<V>, log: Logger) => D | Promise<D>;
  /** The work: typed input and dependencies in, data out. */
  readonly run: (input: z.output<E>, deps: D, log: Logger) => Promise<R>;
}

export interface Task<D, R> {
  readonly handler: (event: unknown) => Promise<R>;
  readonly createHandler: (makeDeps?: (log: Logger) => D | Promise<D>) => (event: unknown) => Promise<R>;
  readonly logger: Logger;
}

export function defineTask<E extends z.ZodType, V extends z.ZodType, D, R>(def: TaskDefinition<E, V, D, R>): Task<D, R> {
  const log = createLogger(def.name);
  const fromEnvironment = (l: Logger) => {
    const env = parseEnv(def.env) as z.output<V> & { POWERTOOLS_LOG_LEVEL?: string };
    if (env.POWERTOOLS_LOG_LEVEL) l.setLogLevel(env.POWERTOOLS_LOG_LEVEL as Parameters<Logger['setLogLevel']>[0]);
    return def.deps(env, l);
  };
  const createHandler = (makeDeps: (l: Logger) => D | Promise<D> = fromEnvironment) => {
    let deps: Promise<D> | undefined;
    return async (event: unknown): Promise<R> => {
      try {
        const input = parseInput(def.event, event, `${def.name} event`);
        deps ??= Promise.resolve()
          .then(() => makeDeps(log))
          .catch((err: unknown) => {
            deps = undefined; // the next invocation tries again
            throw err;
          });
        return await def.run(input, await deps, log);
      } catch (err) {
        const clean = scrubError(asRegistryTransient(err));
        log.warn('task failed', { errorName: clean.name, errorMessage: clean.message });
        throw clean;
      }
    };
  };
  return { handler: createHandler(), createHandler, logger: log };
}
