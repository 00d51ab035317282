/**
 * The lab's Cognito user pool, as far as the console uses it: the managed
 * sign-in's OAuth 2.0 authorization code grant with PKCE (S256) for a public
 * app client, the token endpoint, sign-out, and the pool's JSON Web Key Set,
 * so the console signs in exactly as it does on AWS and the lab's API Gateway
 * (lab/api.ts) verifies the tokens exactly as a JWT authorizer does.
 *
 * Kept as on AWS: no self sign-up (the lab makes one operator); codes are
 * single-use, bound to the client, redirect URI and code challenge, and valid
 * for 5 minutes; only registered callback URLs are accepted; access tokens
 * carry `client_id`, `token_use: access`, `scope`, `username` and `sub`
 * (no `aud`), last one hour (compressed by the lab clock), and are RS256-signed
 * with the key the JWKS names by `kid`.
 * https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html
 * https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html
 * https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html
 * Not emulated: MFA (the stack requires TOTP; the lab's operator signs in with a password alone).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { LabClock } from './clock';
import { LAB_REGION } from './template';

export interface LabUser {
  username: string;
  password: string;
  email: string;
  sub: string;
}

export interface LabCognito {
  /** `http://127.0.0.1:<port>`: the user pool domain (sign-in, token, sign-out). */
  domain: string;
  /** The issuer (`iss`) of its tokens, as `https://cognito-idp.<region>.amazonaws.com/<poolId>` is on AWS. */
  issuer: string;
  userPoolId: string;
  clientId: string;
  user: LabUser;
  /** Verify a token the way the HTTP API's JWT authorizer does; the claims, or why not. */
  verify(token: string, options: { audience: string[]; scopes: string[] }): Promise<{ ok: true; claims: JWTPayload; scopes: string[] } | { ok: false; reason: string }>;
  /** Register the console's callback (and sign-out) URL, as the app client's settings do. */
  allowCallback(url: string): void;
  close(): Promise<void>;
}

interface Code {
  clientId: string;
  redirectUri: string;
  challenge: string;
  scope: string;
  user: LabUser;
  expires: number;
}

const CODE_TTL_MS = 5 * 60_000;
const TOKEN_TTL_S = 3600;

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(params: URLSearchParams, error?: string): string {
  const hidden = ['client_id', 'redirect_uri', 'state', 'scope', 'code_challenge', 'code_challenge_method', 'response_type']
    .map((k) => `<input type="hidden" name="${k}" value="${esc(params.get(k) ?? '')}">`)
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in — fleetwave lab</title>
<style>body{font:16px system-ui,sans-serif;max-width:24rem;margin:4rem auto}label{display:block;margin:.8rem 0 .2rem}input{font:inherit;width:100%;padding:.4rem}button{font:inherit;margin-top:1rem;padding:.4rem 1rem}.error{color:#a00}</style></head>
<body><main><h1>Sign in</h1><p>fleetwave lab user pool</p>
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/login">${hidden}
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form></main></body></html>`;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 64 * 1024) break;
  }
  return new URLSearchParams(body);
}

export async function startCognito(options: { clock: LabClock; user?: Partial<LabUser> }): Promise<LabCognito> {
  const userPoolId = `${LAB_REGION}_fleetwaveLab`;
  const clientId = randomBytes(13).toString('hex').slice(0, 26);
  const user: LabUser = {
    username: options.user?.username ?? 'operator',
    password: options.user?.password ?? `Lab-${randomBytes(12).toString('base64url')}`,
    email: options.user?.email ?? 'operator@lab.invalid',
    sub: options.user?.sub ?? randomUUID(),
  };
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const kid = randomUUID();
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const jwks = createLocalJWKSet({ keys: [jwk] });
  const codes = new Map<string, Code>();
  const callbacks = new Set<string>();
  let base = '';

  const send = (res: ServerResponse, status: number, body: string, type = 'application/json', extra: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...extra });
    res.end(body);
  };
  const oauthError = (res: ServerResponse, error: string, status = 400) => send(res, status, JSON.stringify({ error }), 'application/json', { 'access-control-allow-origin': '*' });

  const issue = async (code: Code) => {
    const now = Math.floor(Date.now() / 1000);
    const ttl = Math.max(1, Math.round(options.clock.limit(TOKEN_TTL_S * 1000) / 1000));
    const common = { sub: code.user.sub, auth_time: now, origin_jti: randomUUID() };
    const access = await new SignJWT({ ...common, client_id: code.clientId, token_use: 'access', scope: code.scope, username: code.user.username })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(`${base}/${userPoolId}`)
      .setIssuedAt(now)
      .setExpirationTime(now + ttl)
      .setJti(randomUUID())
      .sign(privateKey);
    const id = await new SignJWT({ ...common, token_use: 'id', 'cognito:username': code.user.username, email: code.user.email, email_verified: true })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(`${base}/${userPoolId}`)
      .setAudience(code.clientId)
      .setIssuedAt(now)
      .setExpirationTime(now + ttl)
      .sign(privateKey);
    return { access_token: access, id_token: id, token_type: 'Bearer', expires_in: ttl };
  };

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', base);
      if (req.method === 'OPTIONS' && url.pathname === '/oauth2/token') {
        return send(res, 204, '', 'text/plain', { 'access-control-allow-origin': '*', 'access-control-allow-methods': 'POST', 'access-control-allow-headers': 'content-type' });
      }
      if (req.method === 'GET' && url.pathname === '/oauth2/authorize') {
        const p = url.searchParams;
        if (p.get('client_id') !== clientId) return send(res, 400, 'unknown client_id', 'text/plain');
        if (!callbacks.has(p.get('redirect_uri') ?? '')) return send(res, 400, 'redirect_uri is not a callback URL of this app client', 'text/plain');
        if (p.get('response_type') !== 'code' || p.get('code_challenge_method') !== 'S256' || !p.get('code_challenge')) {
          return send(res, 400, 'this app client takes response_type=code with a PKCE S256 code_challenge', 'text/plain');
        }
        return send(res, 200, loginPage(p), 'text/html; charset=utf-8');
      }
      if (req.method === 'POST' && url.pathname === '/login') {
        const f = await readForm(req);
        if (f.get('client_id') !== clientId || !callbacks.has(f.get('redirect_uri') ?? '')) return send(res, 400, 'invalid request', 'text/plain');
        if (f.get('username') !== user.username || f.get('password') !== user.password) {
          return send(res, 200, loginPage(f, 'Incorrect username or password.'), 'text/html; charset=utf-8');
        }
        const code = randomUUID();
        codes.set(code, {
          clientId,
          redirectUri: f.get('redirect_uri')!,
          challenge: f.get('code_challenge')!,
          scope: (f.get('scope') ?? 'openid').split(/[ +]/).filter(Boolean).join(' '),
          user,
          expires: Date.now() + options.clock.limit(CODE_TTL_MS),
        });
        const to = new URL(f.get('redirect_uri')!);
        to.searchParams.set('code', code);
        if (f.get('state')) to.searchParams.set('state', f.get('state')!);
        res.writeHead(302, { location: to.toString() });
        return res.end();
      }
      if (req.method === 'POST' && url.pathname === '/oauth2/token') {
        const f = await readForm(req);
        if (f.get('grant_type') !== 'authorization_code') return oauthError(res, 'unsupported_grant_type');
        const code = codes.get(f.get('code') ?? '');
        codes.delete(f.get('code') ?? ''); // single use, whatever happens next
        if (!code || code.expires < Date.now()) return oauthError(res, 'invalid_grant');
        if (f.get('client_id') !== code.clientId || f.get('redirect_uri') !== code.redirectUri) return oauthError(res, 'invalid_grant');
        const verifier = f.get('code_verifier') ?? '';
        if (createHash('sha256').update(verifier).digest('base64url') !== code.challenge) return oauthError(res, 'invalid_grant');
        return send(res, 200, JSON.stringify(await issue(code)), 'application/json', { 'access-control-allow-origin': '*' });
      }
      if (req.method === 'GET' && url.pathname === '/logout') {
        const to = url.searchParams.get('logout_uri') ?? '';
        if (url.searchParams.get('client_id') !== clientId || !callbacks.has(to)) return send(res, 400, 'logout_uri is not a sign-out URL of this app client', 'text/plain');
        res.writeHead(302, { location: to });
        return res.end();
      }
      if (req.method === 'GET' && url.pathname === `/${userPoolId}/.well-known/jwks.json`) return send(res, 200, JSON.stringify({ keys: [jwk] }));
      return send(res, 404, JSON.stringify({ message: 'not found' }));
    } catch (err) {
      return send(res, 500, JSON.stringify({ message: (err as Error).message }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = `${base}/${userPoolId}`;

  return {
    domain: base,
    issuer,
    userPoolId,
    clientId,
    user,
    allowCallback: (u) => void callbacks.add(u),
    async verify(token, { audience, scopes }) {
      try {
        // signature by a key of the issuer's JWKS (kid), RS256 only, iss, exp and nbf
        const { payload } = await jwtVerify(token, jwks, { issuer, algorithms: ['RS256'] });
        if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + 60) return { ok: false, reason: 'iat is in the future' };
        const aud = ([] as unknown[]).concat(payload.aud ?? payload.client_id ?? []);
        if (!aud.some((a) => typeof a === 'string' && audience.includes(a))) return { ok: false, reason: 'aud / client_id is not an audience of the authorizer' };
        const granted = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
        if (scopes.length > 0 && !scopes.some((s) => granted.includes(s))) return { ok: false, reason: 'the token has none of the route\'s scopes' };
        return { ok: true, claims: payload, scopes: granted };
      } catch (err) {
        return { ok: false, reason: (err as Error).message };
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
