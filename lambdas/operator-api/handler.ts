/**
 * operator-api: the fleetwave operator API behind API Gateway (HTTP API,
 * Lambda proxy integration, payload format 2.0). Routes under `/api` are
 * IAM-authorized (SigV4), under `/console/api` JWT-authorized (the console's
 * Cognito user pool); the caller is read from `requestContext.authorizer`
 * (core/api/caller.ts). Every route, its request and response schemas:
 * core/api (and GET /api/openapi.json).
 *
 * Event: an HTTP API payload 2.0 event. Returns `{statusCode, headers, body}`;
 * never throws for a request's fault (every failure is an `{error}` body with
 * its status), so API Gateway never answers a bare 500 for bad input.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 */
import { z } from 'zod';
import { AuthorizerContext, API_PREFIX, CONSOLE_API_PREFIX, handleApiRequest, ROUTES, SfnWorkflows, type ApiDeps } from '../../core/api';
import { sfnClient } from '../shared/clients';
import { OperatorApiEnv } from '../shared/env';
import { openRegistry } from '../shared/registry';
import { defineTask } from '../shared/task';

export const HttpApiEvent = z.looseObject({
  version: z.literal('2.0'),
  rawPath: z.string(),
  rawQueryString: z.string().default(''),
  headers: z.record(z.string(), z.string()).default({}),
  body: z.string().nullish(),
  isBase64Encoded: z.boolean().default(false),
  requestContext: z.looseObject({
    http: z.looseObject({ method: z.string(), sourceIp: z.string().optional() }),
    requestId: z.string().optional(),
    authorizer: AuthorizerContext.nullish(),
  }),
});
export type HttpApiEvent = z.input<typeof HttpApiEvent>;

export interface HttpApiResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** The path below its route prefix; null for a path outside both (API Gateway routes only those two here). */
function routedPath(rawPath: string): string | null {
  for (const prefix of [CONSOLE_API_PREFIX, API_PREFIX]) {
    if (rawPath === prefix || rawPath.startsWith(`${prefix}/`)) return rawPath.slice(prefix.length) || '/';
  }
  return null;
}

export const { handler, createHandler } = defineTask({
  name: 'operator-api',
  event: HttpApiEvent,
  env: OperatorApiEnv,
  deps: async (env, log): Promise<ApiDeps> => ({
    store: (await openRegistry(env, log)).store,
    workflows: new SfnWorkflows(sfnClient()),
    stateMachines: {
      hostUpgrade: env.HOST_UPGRADE_ARN,
      hostRollback: env.HOST_ROLLBACK_ARN,
      fleetRollout: env.FLEET_ROLLOUT_ARN,
      rolloutRollback: env.ROLLOUT_ROLLBACK_ARN,
      complianceCheck: env.COMPLIANCE_CHECK_ARN,
    },
    allowedOrigins: env.CONSOLE_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean),
  }),
  run: async (event, deps, log): Promise<HttpApiResult> => {
    const method = event.requestContext.http.method;
    const path = routedPath(event.rawPath);
    const body = event.body == null ? null : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
    const query = Object.fromEntries(new URLSearchParams(event.rawQueryString));
    const res = path === null
      ? { status: 404, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: { code: 'not-found', message: `no route ${method} ${event.rawPath}` } }) }
      : await handleApiRequest({ method, path, query, headers: event.headers, body, authorizer: event.requestContext.authorizer ?? null }, ROUTES, deps, log);
    log.info('api request', { method, path: event.rawPath, status: res.status, requestId: event.requestContext.requestId });
    return { statusCode: res.status, headers: res.headers, body: res.body };
  },
});
