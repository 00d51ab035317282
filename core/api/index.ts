/**
 * The operator API: every route (one module per resource), the router, and
 * the OpenAPI document generated from the routes' zod schemas. Plain
 * functions over the registry store and the Step Functions port; the Lambda
 * handler (lambdas/operator-api) and the lab (lab/api.ts) only adapt HTTP.
 */
import { z } from 'zod';
import { CallerView } from './caller';
import { complianceReadRoutes } from './compliance';
import { fleetRoutes } from './fleets';
import { hostActionRoutes } from './host-actions';
import { notFound, route, type Route } from './http';
import { openApiDocument } from './openapi';
import { rolloutRoutes } from './rollouts';
import { runRoutes } from './runs';
import { ExecutionView, stateMachineOf } from './workflows';

const metaRoutes: Route[] = [
  route({
    method: 'GET',
    path: '/me',
    tag: 'meta',
    summary: 'The caller as the API authenticated it (what the audit log records for its actions)',
    response: CallerView,
    run: async ({ caller }) => caller,
  }),
  route({
    method: 'GET',
    path: '/executions/{executionArn}',
    tag: 'meta',
    summary: 'Progress of an execution one of the actions started: status, states entered, output or error',
    params: z.object({ executionArn: z.string().min(1).max(2048) }),
    response: ExecutionView,
    run: async ({ params }, { workflows, stateMachines }) => {
      const machine = stateMachineOf(params.executionArn);
      if (!machine || !Object.values(stateMachines).includes(machine)) throw notFound(`execution ${params.executionArn} of a fleetwave state machine`);
      return workflows.describe(params.executionArn);
    },
  }),
];

const openApiRoute = route({
  method: 'GET',
  path: '/openapi.json',
  tag: 'meta',
  summary: 'This document',
  response: z.record(z.string(), z.unknown()),
  run: async () => openApiDocument(ROUTES),
});

export const ROUTES: Route[] = [...fleetRoutes, ...hostActionRoutes, ...runRoutes, ...rolloutRoutes, ...complianceReadRoutes, ...metaRoutes, openApiRoute];

export * from './auth';
export * from './caller';
export * from './deps';
export * from './http';
export * from './openapi';
export * from './router';
export * from './workflows';
