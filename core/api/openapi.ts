/**
 * The OpenAPI 3.1 document of the operator API, generated from the routes'
 * own zod schemas with zod 4's `z.toJSONSchema` (JSON Schema 2020-12, the
 * dialect OpenAPI 3.1 uses): request schemas as input, responses as output.
 * Served at GET /openapi.json under both route prefixes.
 */
import { z } from 'zod';
import { API_PREFIX, CONSOLE_API_PREFIX, CONSOLE_SCOPE } from './auth';
import { ApiErrorBody, type Route } from './http';

type Json = Record<string, unknown>;

const schemaOf = (schema: z.ZodType, io: 'input' | 'output'): Json => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  return rest;
};

const ERRORS: Record<string, string> = {
  '400': 'the request is invalid: `error.fields` names what',
  '401': 'not signed in (console) or no identity',
  '403': 'not signed, wrongly signed, or an action from another site',
  '404': 'no such fleet, host, run, backup, rollout or check',
  '409': 'refused in the current state (quarantined host, rollout not waiting, a restore over later changes)',
};

function operation(r: Route): Json {
  const parameters: Json[] = [];
  const params = schemaOf(r.params, 'input') as { properties?: Record<string, Json> };
  for (const name of r.paramNames) parameters.push({ name, in: 'path', required: true, schema: params.properties?.[name] ?? { type: 'string' } });
  const query = schemaOf(r.query, 'input') as { properties?: Record<string, Json>; required?: string[] };
  for (const [name, schema] of Object.entries(query.properties ?? {})) {
    parameters.push({ name, in: 'query', required: query.required?.includes(name) ?? false, schema });
  }
  const errorContent = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };
  return {
    operationId: `${r.method.toLowerCase()}${r.path.replace(/\{([A-Za-z]+)\}/g, 'By-$1').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
    summary: r.summary,
    tags: [r.tag],
    ...(parameters.length ? { parameters } : {}),
    ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(r.body, 'input') } } } } : {}),
    responses: {
      [String(r.status)]: { description: r.status === 202 ? 'started' : 'ok', content: { 'application/json': { schema: schemaOf(r.response, 'output') } } },
      ...Object.fromEntries(Object.entries(ERRORS).map(([code, description]) => [code, { description, content: errorContent }])),
    },
  };
}

export function openApiDocument(routes: Route[], options: { serverUrl?: string; version?: string } = {}): Json {
  const paths: Record<string, Json> = {};
  for (const r of routes) {
    for (const [prefix, security] of [
      [API_PREFIX, [{ sigv4: [] }]],
      [CONSOLE_API_PREFIX, [{ console: [CONSOLE_SCOPE] }]],
    ] as const) {
      const p = `${prefix}${r.path}`;
      const op = operation(r);
      paths[p] = { ...paths[p], [r.method.toLowerCase()]: { ...op, operationId: `${op.operationId}${prefix === API_PREFIX ? '' : 'Console'}`, security } };
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'fleetwave operator API',
      version: options.version ?? '1',
      description:
        'Fleets, hosts, runs, backups, rollouts, compliance and the audit log; actions start the fleetwave state machines as the authenticated caller. ' +
        `Routes under ${API_PREFIX} take IAM (SigV4, service execute-api); under ${CONSOLE_API_PREFIX} a console sign-in (Cognito access token with scope ${CONSOLE_SCOPE}).`,
    },
    ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
    paths,
    components: {
      schemas: { Error: schemaOf(ApiErrorBody, 'output') },
      securitySchemes: {
        sigv4: { type: 'apiKey', name: 'Authorization', in: 'header', description: 'AWS Signature Version 4 (service execute-api), as API Gateway IAM authorization takes it', 'x-amazon-apigateway-authtype': 'awsSigv4' },
        console: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Cognito user pool access token (console sign-in)' },
      },
    },
  };
}
