/**
 * One request through the operator API: find the route, name the caller from
 * the authenticated context, refuse cross-site actions, check the request
 * with the route's schemas, run it, and shape the answer with its response
 * schema. Every failure is an `ApiErrorBody` with a status; nothing throws
 * out of here, and an unexpected error's text never reaches the caller.
 */
import { z } from 'zod';
import { describeIssues, InvalidTaskInputError } from '../errors';
import { NewerChangesError, UnknownReleaseError } from '../host-run/errors';
import { redactSecrets } from '../redact';
import { RegistryError } from '../registry/errors';
import { callerOf, type AuthorizerContext } from './caller';
import type { ApiDeps } from './deps';
import { ApiError, type Route } from './http';

export interface ApiRequest {
  method: string;
  /** The path below the route prefix, e.g. `/hosts/stg-1`. */
  path: string;
  query: Record<string, string | undefined>;
  /** Lower-case names. */
  headers: Record<string, string | undefined>;
  body: string | null;
  authorizer: AuthorizerContext | null;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface ApiLog {
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

const HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

const json = (status: number, value: unknown): ApiResponse => ({ status, headers: { ...HEADERS }, body: JSON.stringify(value) });

const NOT_FOUND = /NotFoundError$/;
const CONFLICT = new Set(['HostLockedError', 'HostQuarantinedError', 'RolloutConflictError', 'DuplicateInstanceError', 'RunConflictError', 'BackupStateError']);

/** Registry refusals and input errors as the API's error codes; anything else is internal. */
function asApiError(err: unknown): ApiError | null {
  if (err instanceof ApiError) return err;
  if (err instanceof NewerChangesError) return new ApiError('conflict', err.message, { details: { reason: 'newer-changes' } });
  if (err instanceof UnknownReleaseError || err instanceof InvalidTaskInputError) return new ApiError('invalid-input', err.message);
  if (err instanceof RegistryError) {
    if (NOT_FOUND.test(err.name)) return new ApiError('not-found', err.message);
    if (CONFLICT.has(err.name)) return new ApiError('conflict', err.message);
    if (err.name === 'InvalidRegistryInputError') return new ApiError('invalid-input', err.message);
  }
  return null;
}

function check<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const { detail } = describeIssues(r.error, where);
  // the field at fault; for a key the request may not carry (e.g. a self-declared requestedBy), that key
  const fields = r.error.issues.flatMap((i) => (i.code === 'unrecognized_keys' ? i.keys : [i.path.map(String).join('.') || where]));
  throw new ApiError('invalid-input', `invalid ${where}: ${detail}`, { fields: [...new Set(fields)] });
}

/** Browsers send Origin on every cross-origin request and on same-origin POSTs; tools send none. */
function refuseForeignOrigin(req: ApiRequest, allowed: string[]): void {
  const origin = req.headers.origin;
  if (origin !== undefined && !allowed.includes(origin)) {
    throw new ApiError('forbidden', `actions are accepted only from the fleetwave console, not from ${origin}`);
  }
  // a form of another site can post text/plain or form data without a preflight, never JSON
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new ApiError('unsupported-media-type', 'actions take a JSON body (Content-Type: application/json)');
}

export function matchRoute(routes: Route[], method: string, path: string): { route: Route; params: Record<string, string> } | 'method-not-allowed' | null {
  let pathMatched = false;
  for (const r of routes) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    pathMatched = true;
    if (r.method !== method) continue;
    const params: Record<string, string> = {};
    r.paramNames.forEach((name, i) => {
      params[name] = decodeURIComponent(m[i + 1]!);
    });
    return { route: r, params };
  }
  return pathMatched ? 'method-not-allowed' : null;
}

export async function handleApiRequest(req: ApiRequest, routes: Route[], deps: ApiDeps, log?: ApiLog): Promise<ApiResponse> {
  try {
    const caller = callerOf(req.authorizer);
    const method = req.method.toUpperCase();
    const found = matchRoute(routes, method, req.path);
    if (found === null) throw new ApiError('not-found', `no route ${method} ${req.path}`);
    if (found === 'method-not-allowed') throw new ApiError('invalid-input', `${req.path} does not take ${method}`);
    const { route, params } = found;
    let body: unknown = undefined;
    if (route.body) {
      refuseForeignOrigin(req, deps.allowedOrigins);
      let raw: unknown = {};
      try {
        raw = req.body && req.body.trim() ? JSON.parse(req.body) : {};
      } catch {
        throw new ApiError('invalid-input', 'the body is not JSON');
      }
      body = check(route.body, raw, 'body');
    }
    const input = {
      params: check(route.params, params, 'path'),
      query: check(route.query, Object.fromEntries(Object.entries(req.query).filter(([, v]) => v !== undefined && v !== '')), 'query'),
      body,
      caller,
    };
    const result = await route.run(input, deps);
    const shaped = route.response.safeParse(result);
    if (!shaped.success) {
      log?.error('response does not match its schema', { route: `${route.method} ${route.path}`, issues: shaped.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`) });
      return json(500, new ApiError('internal', 'the API could not shape its answer; see its log').body());
    }
    return json(route.status, shaped.data);
  } catch (err) {
    const api = asApiError(err);
    if (api) {
      if (api.status >= 500) log?.error('request failed', { message: redactSecrets(api.message) });
      return json(api.status, { error: { ...api.body().error, message: redactSecrets(api.message) } });
    }
    log?.error('request failed', { errorName: (err as Error)?.name, message: redactSecrets(String((err as Error)?.message ?? err)) });
    return json(500, new ApiError('internal', 'the request failed inside the API; see its log').body());
  }
}
