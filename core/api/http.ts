/**
 * The operator API's scaffold: a route is a method, a path template, zod
 * schemas for its path parameters, query and body (the request) and for its
 * response, and a plain function over the API's dependencies. The same
 * definitions route requests (router.ts), check them at the edge, shape every
 * response through its schema (so nothing a schema leaves out, such as a task
 * token, ever leaves the API) and generate the OpenAPI document (openapi.ts).
 */
import { z } from 'zod';
import type { Caller } from './caller';
import type { ApiDeps } from './deps';

export const METHODS = ['GET', 'POST'] as const;
export type Method = (typeof METHODS)[number];

/** What every failing request answers: a code a program branches on, a sentence a person reads. */
export const ApiErrorBody = z.object({
  error: z.object({
    code: z.enum(['invalid-input', 'unauthenticated', 'forbidden', 'not-found', 'conflict', 'unsupported-media-type', 'internal']),
    message: z.string(),
    /** Request fields at fault, for invalid-input. */
    fields: z.array(z.string()).optional(),
    /** What a refused rollback would discard (conflict over later changes). */
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type ApiErrorBody = z.infer<typeof ApiErrorBody>;
export type ApiErrorCode = ApiErrorBody['error']['code'];

const STATUS: Record<ApiErrorCode, number> = {
  'invalid-input': 400,
  unauthenticated: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'unsupported-media-type': 415,
  internal: 500,
};

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly extra: { fields?: string[]; details?: Record<string, unknown> } = {},
  ) {
    super(message);
  }
  get status(): number {
    return STATUS[this.code];
  }
  body(): ApiErrorBody {
    return { error: { code: this.code, message: this.message, ...this.extra } };
  }
}

export const notFound = (what: string) => new ApiError('not-found', `no ${what}`);
export const conflict = (message: string, details?: Record<string, unknown>) => new ApiError('conflict', message, details ? { details } : {});

/** What a route's function receives: the checked request and who is calling. */
export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  caller: Caller;
}

const Empty = z.object({}).strict();
type EmptyObject = z.infer<typeof Empty>;

export interface RouteDefinition<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, R extends z.ZodType> {
  method: Method;
  /** OpenAPI path template, e.g. `/hosts/{hostId}`. */
  path: string;
  /** One line: what the route reads or does. */
  summary: string;
  /** Resource group in the OpenAPI document. */
  tag: string;
  params?: P;
  query?: Q;
  body?: B;
  response: R;
  /** HTTP status of a success (default 200; actions that start an execution answer 202). */
  status?: number;
  run: (input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>, deps: ApiDeps) => Promise<z.input<R>>;
}

export interface Route {
  method: Method;
  path: string;
  summary: string;
  tag: string;
  params: z.ZodType;
  query: z.ZodType;
  body: z.ZodType | null;
  response: z.ZodType;
  status: number;
  run: (input: RouteInput<unknown, unknown, unknown>, deps: ApiDeps) => Promise<unknown>;
  /** `/hosts/{hostId}` as a matcher capturing each parameter. */
  pattern: RegExp;
  paramNames: string[];
}

export function route<P extends z.ZodType = typeof Empty, Q extends z.ZodType = typeof Empty, B extends z.ZodType = typeof Empty, R extends z.ZodType = z.ZodType>(
  def: RouteDefinition<P, Q, B, R>,
): Route {
  const paramNames = [...def.path.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => m[1]!);
  const pattern = new RegExp(`^${def.path.replace(/\{[A-Za-z]+\}/g, '([^/]+)')}$`);
  return {
    method: def.method,
    path: def.path,
    summary: def.summary,
    tag: def.tag,
    params: def.params ?? Empty,
    query: def.query ?? Empty,
    body: def.body ?? (def.method === 'POST' ? Empty : null),
    response: def.response,
    status: def.status ?? 200,
    run: def.run as Route['run'],
    pattern,
    paramNames,
  };
}

export type { EmptyObject };

/** Compile-time check that a response schema describes exactly a store's type (so the two cannot drift apart). */
export type Exactly<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const sameShape = <T extends true>(_proof: T): void => undefined;

/** Epoch milliseconds, as the registry keeps every time. */
export const EpochMs = z.number().int().describe('epoch milliseconds');
