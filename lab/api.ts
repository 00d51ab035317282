/**
 * The lab's API Gateway (HTTP API) in front of the bundled operator-api
 * function, and the lab's CloudFront in front of the console's files.
 *
 * As the stack's HTTP API does (lib/operator-api.ts), the gateway:
 * - routes only `GET|POST /api/{proxy+}` (IAM) and `GET|POST /console/api/{proxy+}`
 *   (JWT); anything else is 404 `{"message":"Not Found"}`;
 * - IAM: refuses an unsigned request, a wrongly signed one, an unknown access
 *   key, a scope other than this region's `execute-api`, and a signature dated
 *   more than 5 minutes from now, each with 403 as API Gateway does; the
 *   function then sees `requestContext.authorizer.iam` of the signer;
 * - JWT: takes the token from Authorization (bare or `Bearer`), checks it
 *   against the user pool's JWKS, issuer, client id and the route's scope
 *   (lab/cognito.ts), else 401 `{"message":"Unauthorized"}`; the function sees
 *   `requestContext.authorizer.jwt.claims`;
 * - answers CORS preflights itself for the console's origin only and adds
 *   the CORS headers to responses (ignoring any the function returns);
 * - refuses bodies over 10 MB, and passes payload format 2.0 events.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
 *
 * The console site serves console/ and a config.json made by the same
 * function the stack's deployment uses (core/api/auth.ts consoleConfig), with
 * the same content security policy.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_PREFIX, CONSOLE_API_PREFIX, CONSOLE_SCOPE, consoleConfig, consoleContentSecurityPolicy } from '../core/api/auth';
import { API_SERVICE, apiSigner, parseAuthorization, sameSignature } from '../core/api/sigv4';
import type { LabCognito } from './cognito';
import type { LambdaRuntime } from './sfn/lambda-runtime';
import { LAB_ACCOUNT, LAB_REGION } from './template';

const CONSOLE_DIR = fileURLToPath(new URL('../console', import.meta.url));
const MAX_BODY = 10 * 1024 * 1024;
/** A signature must reach AWS within 5 minutes of its time stamp (SigV4). */
const MAX_SKEW_MS = 5 * 60_000;

export interface LabIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  /** What API Gateway reports as `userArn`, e.g. `arn:aws:iam::000000000000:user/lab-operator`. */
  arn: string;
}

export interface LabApi {
  /** `http://127.0.0.1:<port>`: the HTTP API's invoke URL (`<url>/api` is the IAM base). */
  url: string;
  /** `http://127.0.0.1:<port>/`: the console. */
  consoleUrl: string;
  /** Another principal that may sign requests (tests: a second operator). */
  addIdentity(identity: LabIdentity): void;
  close(): Promise<void>;
}

export interface LabApiOptions {
  lambda: LambdaRuntime;
  /** The operator-api function's name in the template. */
  functionName: string;
  cognito: LabCognito;
  identities: LabIdentity[];
  log?: (line: string) => void;
}

const listen = async (server: Server) => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
const closeServer = (server: Server) =>
  new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });

async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.json': 'application/json' };

export async function startLabApi(options: LabApiOptions): Promise<LabApi> {
  const identities = new Map(options.identities.map((i) => [i.accessKeyId, i]));
  const site = createServer();
  const api = createServer();
  const [siteUrl, apiUrl] = await Promise.all([listen(site), listen(api)]);
  const consoleOrigin = siteUrl;
  options.cognito.allowCallback(`${siteUrl}/`);
  const config = consoleConfig(apiUrl, options.cognito.domain, options.cognito.clientId, 'lab');
  const csp = consoleContentSecurityPolicy([apiUrl, options.cognito.domain]);

  // ── CloudFront stand-in: the console's files and config.json
  site.on('request', (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', siteUrl).pathname);
    const headers = { 'content-security-policy': csp, 'x-frame-options': 'DENY', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cache-control': 'no-cache' };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(403, headers);
      return res.end();
    }
    if (path === '/config.json') {
      res.writeHead(200, { ...headers, 'content-type': 'application/json' });
      return res.end(JSON.stringify(config));
    }
    const file = resolve(CONSOLE_DIR, normalize(`.${path === '/' ? '/index.html' : path}`));
    if (!file.startsWith(CONSOLE_DIR + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { ...headers, 'content-type': 'text/plain' });
      return res.end('not found');
    }
    res.writeHead(200, { ...headers, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });

  // ── API Gateway stand-in
  const reply = (res: ServerResponse, status: number, body: unknown, cors: Record<string, string>) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'apigw-requestid': randomUUID(), ...cors });
    res.end(text);
  };

  const verifySigV4 = async (req: IncomingMessage, url: URL, body: Buffer): Promise<LabIdentity | string> => {
    const auth = parseAuthorization(req.headers.authorization);
    if (!auth) return req.headers.authorization ? 'Authorization header requires \'Credential\', \'Signature\' and \'SignedHeaders\' parameters' : 'Forbidden';
    const identity = identities.get(auth.accessKeyId);
    if (!identity) return 'The security token included in the request is invalid';
    const amzDate = String(req.headers['x-amz-date'] ?? '');
    const when = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
    if (!when || !auth.signedHeaders.includes('host') || !auth.signedHeaders.includes('x-amz-date')) return 'Forbidden';
    const signedAt = Date.UTC(+when[1]!, +when[2]! - 1, +when[3]!, +when[4]!, +when[5]!, +when[6]!);
    if (Math.abs(Date.now() - signedAt) > MAX_SKEW_MS) return 'Signature expired: the request is more than 5 minutes from now';
    if (auth.region !== LAB_REGION || auth.service !== API_SERVICE || auth.date !== amzDate.slice(0, 8)) return 'Credential should be scoped to a valid region and to execute-api';
    const headers: Record<string, string> = {};
    for (const h of auth.signedHeaders) {
      const v = req.headers[h];
      if (v === undefined) return 'Forbidden';
      headers[h] = Array.isArray(v) ? v.join(',') : v;
    }
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of url.searchParams) query[k] = k in query ? ([] as string[]).concat(query[k]!, v) : v;
    const signed = await apiSigner({ accessKeyId: identity.accessKeyId, secretAccessKey: identity.secretAccessKey }, LAB_REGION).sign(
      { method: req.method!, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: url.pathname, query, headers, body: body.length ? body : undefined },
      { signingDate: new Date(signedAt) },
    );
    const expected = parseAuthorization(String(signed.headers.authorization))?.signature ?? '';
    return sameSignature(expected, auth.signature) ? identity : 'The request signature we calculated does not match the signature you provided';
  };

  api.on('request', async (req, res) => {
    const origin = req.headers.origin;
    const cors: Record<string, string> = origin === consoleOrigin ? { 'access-control-allow-origin': origin, vary: 'origin' } : {};
    try {
      const url = new URL(req.url ?? '/', apiUrl);
      if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
        const ok = origin === consoleOrigin && ['GET', 'POST'].includes(String(req.headers['access-control-request-method']));
        res.writeHead(204, ok ? { ...cors, 'access-control-allow-methods': 'GET,POST', 'access-control-allow-headers': 'authorization,content-type', 'access-control-max-age': '600' } : {});
        return res.end();
      }
      const prefix = [CONSOLE_API_PREFIX, API_PREFIX].find((p) => url.pathname.startsWith(`${p}/`));
      if (!prefix || (req.method !== 'GET' && req.method !== 'POST')) return reply(res, 404, { message: 'Not Found' }, cors);
      const body = await readBody(req);
      if (body === null) return reply(res, 413, { message: 'Request Entity Too Large' }, cors);

      let authorizer: Record<string, unknown>;
      if (prefix === API_PREFIX) {
        const who = await verifySigV4(req, url, body);
        if (typeof who === 'string') return reply(res, 403, { message: who }, cors);
        authorizer = { iam: { accessKey: who.accessKeyId, accountId: LAB_ACCOUNT, callerId: who.arn.split('/').pop(), cognitoIdentity: null, principalOrgId: null, userArn: who.arn, userId: who.arn.split('/').pop() } };
      } else {
        const token = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
        const v = token ? await options.cognito.verify(token, { audience: [options.cognito.clientId], scopes: [CONSOLE_SCOPE] }) : { ok: false as const, reason: 'no token' };
        if (!v.ok) return reply(res, 401, { message: 'Unauthorized' }, cors);
        authorizer = { jwt: { claims: v.claims, scopes: v.scopes } };
      }

      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
      const now = new Date();
      const event = {
        version: '2.0',
        routeKey: `${req.method} ${prefix}/{proxy+}`,
        rawPath: url.pathname,
        rawQueryString: url.search.replace(/^\?/, ''),
        headers,
        queryStringParameters: url.search ? Object.fromEntries(url.searchParams) : undefined,
        pathParameters: { proxy: url.pathname.slice(prefix.length + 1) },
        requestContext: {
          accountId: LAB_ACCOUNT,
          apiId: 'labapi',
          authorizer,
          domainName: url.host,
          domainPrefix: 'labapi',
          http: { method: req.method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
          requestId: randomUUID(),
          routeKey: `${req.method} ${prefix}/{proxy+}`,
          stage: '$default',
          time: now.toUTCString(),
          timeEpoch: now.getTime(),
        },
        body: body.length ? body.toString('utf8') : undefined,
        isBase64Encoded: false,
      };
      const result = await options.lambda.invoke(options.functionName, event);
      if (result.functionError) {
        options.log?.(`operator-api failed: ${result.functionError.errorType}: ${result.functionError.errorMessage}`);
        return reply(res, 500, { message: 'Internal Server Error' }, cors);
      }
      const out = result.payload as { statusCode?: number; headers?: Record<string, string>; body?: string; isBase64Encoded?: boolean };
      // with CORS configured, API Gateway ignores the integration's own CORS headers
      const own = Object.fromEntries(Object.entries(out.headers ?? {}).filter(([k]) => !k.toLowerCase().startsWith('access-control-')));
      res.writeHead(out.statusCode ?? 200, { ...own, ...cors, 'apigw-requestid': event.requestContext.requestId });
      res.end(out.isBase64Encoded ? Buffer.from(out.body ?? '', 'base64') : (out.body ?? ''));
    } catch (err) {
      options.log?.(`lab api: ${(err as Error).message}`);
      if (!res.headersSent) reply(res, 500, { message: 'Internal Server Error' }, cors);
    }
  });

  return {
    url: apiUrl,
    consoleUrl: `${siteUrl}/`,
    addIdentity: (i) => void identities.set(i.accessKeyId, i),
    close: async () => {
      await Promise.all([closeServer(site), closeServer(api)]);
    },
  };
}

