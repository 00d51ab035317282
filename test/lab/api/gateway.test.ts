/**
 * The lab's API Gateway stand-in (lab/api.ts) in front of a recording
 * function: it lets through only what API Gateway's IAM authorization and
 * JWT authorizer would, with the identity of the signer (or of the signed-in
 * user) in the event, and answers CORS for the console's origin only.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignatureV4 } from '@smithy/signature-v4';
import { apiSigner, NodeSha256 } from '../../../core/api/sigv4';
import { OperatorApiClient } from '../../../core/api/client';
import { startLabApi, type LabApi } from '../../../lab/api';
import { labClock } from '../../../lab/clock';
import { startCognito, type LabCognito } from '../../../lab/cognito';
import type { LambdaRuntime } from '../../../lab/sfn/lambda-runtime';

const ALICE = { accessKeyId: 'AKIALABALICE0000000A', secretAccessKey: 'alice-secret-key-for-the-lab-only', arn: 'arn:aws:iam::000000000000:user/alice' };
const events: any[] = [];
const echo = {
  invoke: async (_fn: string, event: any) => {
    events.push(event);
    return { requestId: 'r', statusCode: 200, executedVersion: '$LATEST', durationMs: 1, payload: { statusCode: 200, headers: { 'content-type': 'application/json', 'access-control-allow-origin': '*' }, body: JSON.stringify({ path: event.rawPath, authorizer: event.requestContext.authorizer }) } };
  },
} as unknown as LambdaRuntime;

let api: LabApi;
let cognito: LabCognito;
beforeAll(async () => {
  cognito = await startCognito({ clock: labClock(1) });
  api = await startLabApi({ lambda: echo, functionName: 'OperatorHandler', cognito, identities: [ALICE] });
});
afterAll(async () => {
  await api?.close();
  await cognito?.close();
});

/** A request signed as `who` (with what the test then changes), sent as is. */
async function signed(opts: { who?: typeof ALICE; path?: string; body?: string; service?: string; date?: Date; tamper?: (h: Record<string, string>) => { body?: string } }) {
  const url = new URL(`${api.url}${opts.path ?? '/api/fleets'}`);
  const method = opts.body === undefined ? 'GET' : 'POST';
  const headers: Record<string, string> = { host: url.host, ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}) };
  const who = opts.who ?? ALICE;
  const signer = opts.service ? new SignatureV4({ credentials: who, region: 'us-east-1', service: opts.service, sha256: NodeSha256 }) : apiSigner(who, 'us-east-1');
  const req = await signer.sign({ method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: url.pathname, query: {}, headers, body: opts.body }, opts.date ? { signingDate: opts.date } : {});
  const h = { ...(req.headers as Record<string, string>) };
  const changed = opts.tamper?.(h) ?? {};
  delete h.host;
  return fetch(url, { method, headers: h, body: changed.body ?? opts.body });
}

describe('the lab API Gateway, IAM routes', () => {
  it('passes a signed request on with the signer as requestContext.authorizer.iam', async () => {
    const client = new OperatorApiClient({ baseUrl: `${api.url}/api`, region: 'us-east-1', credentials: ALICE });
    const res = await client.call<{ path: string; authorizer: any }>('POST', '/hosts/stg-1/upgrade', { version: '1.5.0' });
    expect(res.status).toBe(200);
    expect(res.body.path).toBe('/api/hosts/stg-1/upgrade');
    expect(res.body.authorizer.iam).toMatchObject({ userArn: ALICE.arn, accessKey: ALICE.accessKeyId, accountId: '000000000000' });
    expect(events.at(-1)).toMatchObject({ version: '2.0', routeKey: 'POST /api/{proxy+}', body: '{"version":"1.5.0"}', requestContext: { http: { method: 'POST' } } });
  });

  it('refuses an unsigned request, an unknown key, a wrong secret, a changed body, another service\'s scope and an old signature, before the function runs', async () => {
    const before = events.length;
    const unsigned = await fetch(`${api.url}/api/fleets`);
    expect(unsigned.status).toBe(403);
    const stranger = await signed({ who: { ...ALICE, accessKeyId: 'AKIALABSTRANGER00000' } });
    expect(stranger.status).toBe(403);
    expect(await stranger.json()).toEqual({ message: 'The security token included in the request is invalid' });
    const wrongSecret = await signed({ who: { ...ALICE, secretAccessKey: 'not-alices-secret' } });
    expect(wrongSecret.status).toBe(403);
    expect(((await wrongSecret.json()) as { message: string }).message).toMatch(/signature we calculated does not match/);
    const changedBody = await signed({ path: '/api/hosts/stg-1/upgrade', body: '{"version":"1.5.0"}', tamper: () => ({ body: '{"version":"9.9.9"}' }) });
    expect(changedBody.status).toBe(403);
    const otherService = await signed({ service: 'states' });
    expect(otherService.status).toBe(403);
    const old = await signed({ date: new Date(Date.now() - 10 * 60_000) });
    expect(old.status).toBe(403);
    expect(((await old.json()) as { message: string }).message).toMatch(/expired/);
    expect(events.length).toBe(before);
  });

  it('routes only GET and POST under /api and /console/api', async () => {
    expect((await fetch(`${api.url}/fleets`)).status).toBe(404);
    expect((await fetch(`${api.url}/api/fleets`, { method: 'DELETE' })).status).toBe(404);
  });
});

/** The console's sign-in, as the browser does it: authorization code with PKCE. */
async function signIn(password = cognito.user.password): Promise<Response | { access_token: string; id_token: string }> {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const redirect = api.consoleUrl;
  const form = new URLSearchParams({ client_id: cognito.clientId, redirect_uri: redirect, response_type: 'code', scope: 'openid email fleetwave/operate', code_challenge: challenge, code_challenge_method: 'S256', state: 's1', username: cognito.user.username, password });
  const login = await fetch(`${cognito.domain}/login`, { method: 'POST', body: form, redirect: 'manual' });
  if (login.status !== 302) return login;
  const code = new URL(login.headers.get('location')!).searchParams.get('code')!;
  const token = await fetch(`${cognito.domain}/oauth2/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', client_id: cognito.clientId, code, redirect_uri: redirect, code_verifier: verifier }) });
  return (await token.json()) as { access_token: string; id_token: string };
}

describe('the lab API Gateway, console routes', () => {
  it('passes a request with the user pool\'s access token on with its claims, and refuses one without', async () => {
    const tokens = (await signIn()) as { access_token: string; id_token: string };
    const ok = await fetch(`${api.url}/console/api/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(ok.status).toBe(200);
    const seen = (await ok.json()) as { authorizer: { jwt: { claims: Record<string, unknown>; scopes: string[] } } };
    expect(seen.authorizer.jwt.claims).toMatchObject({ username: 'operator', client_id: cognito.clientId, token_use: 'access' });
    expect(seen.authorizer.jwt.scopes).toContain('fleetwave/operate');

    expect((await fetch(`${api.url}/console/api/me`)).status).toBe(401);
    // an ID token has no scope: refused like API Gateway refuses it on a route that requires one
    expect((await fetch(`${api.url}/console/api/me`, { headers: { authorization: `Bearer ${tokens.id_token}` } })).status).toBe(401);
    const [h, p, s] = tokens.access_token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), username: 'root' })).toString('base64url');
    expect((await fetch(`${api.url}/console/api/me`, { headers: { authorization: `Bearer ${h}.${forged}.${s}` } })).status).toBe(401);
    // an IAM route takes no bearer token
    expect((await fetch(`${api.url}/api/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).status).toBe(403);
  });

  it('refuses a wrong password', async () => {
    const wrong = (await signIn('not-the-password')) as Response;
    expect(wrong.status).toBe(200);
    expect(await wrong.text()).toContain('Incorrect username or password');
  });

  it('answers CORS for the console\'s origin only, never with the function\'s own CORS headers', async () => {
    const origin = new URL(api.consoleUrl).origin;
    const pre = await fetch(`${api.url}/console/api/hosts/stg-1/upgrade`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(origin);
    const evil = await fetch(`${api.url}/console/api/hosts/stg-1/upgrade`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const client = new OperatorApiClient({ baseUrl: `${api.url}/api`, region: 'us-east-1', credentials: ALICE });
    const res = await client.call('GET', '/fleets');
    expect(res.status).toBe(200);
    const direct = await signed({});
    expect(direct.headers.get('access-control-allow-origin')).toBeNull();
  });
});
