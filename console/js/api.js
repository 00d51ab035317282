// Sign-in (OAuth 2.0 authorization code with PKCE against the user pool named by
// config.json) and calls to the operator API's console routes with the access
// token as a bearer token. The token lives in sessionStorage, never in a cookie,
// so no other site can make this browser send it (docs/decisions/console-auth.md).

const KEY = 'fleetwave.console';
let config = null;

const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const random = (n = 32) => b64url(crypto.getRandomValues(new Uint8Array(n)));
const redirectUri = () => `${location.origin}/`;
const store = {
  get: () => JSON.parse(sessionStorage.getItem(KEY) || '{}'),
  set: (v) => sessionStorage.setItem(KEY, JSON.stringify({ ...store.get(), ...v })),
  clear: () => sessionStorage.removeItem(KEY),
};

export async function loadConfig() {
  if (!config) config = await (await fetch('config.json', { cache: 'no-store' })).json();
  return config;
}

async function signIn() {
  const verifier = random(48);
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const state = random(16);
  store.set({ verifier, state, returnTo: location.hash || '#/' });
  const url = new URL(config.auth.authorizeUrl);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: config.auth.clientId,
    redirect_uri: redirectUri(),
    scope: config.auth.scopes.join(' '),
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.toString());
  return new Promise(() => undefined); // the page is leaving
}

/** A valid access token, after finishing a sign-in that just came back, or starting one. */
export async function ensureSignedIn() {
  await loadConfig();
  const params = new URLSearchParams(location.search);
  const saved = store.get();
  if (params.has('code')) {
    const back = saved.returnTo || '#/';
    history.replaceState(null, '', `/${back}`);
    if (params.get('state') !== saved.state || !saved.verifier) throw new Error('the sign-in answer does not match the sign-in this page started; reload to sign in again');
    const res = await fetch(config.auth.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: config.auth.clientId, code: params.get('code'), redirect_uri: redirectUri(), code_verifier: saved.verifier }),
    });
    if (!res.ok) throw new Error(`sign-in failed (${res.status}); reload to try again`);
    const t = await res.json();
    store.set({ token: t.access_token, expiresAt: Date.now() + t.expires_in * 1000 - 30_000, verifier: null, state: null });
  }
  const { token, expiresAt } = store.get();
  if (!token || Date.now() > expiresAt) return signIn();
  return token;
}

export function signOut() {
  store.clear();
  const url = new URL(config.auth.logoutUrl);
  url.search = new URLSearchParams({ client_id: config.auth.clientId, logout_uri: redirectUri() }).toString();
  location.assign(url.toString());
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `the API answered ${status}`);
    this.status = status;
    this.code = body?.error?.code;
    this.details = body?.error?.details;
  }
}

/** One call to the operator API; actions send JSON (the API refuses anything else). */
export async function api(method, path, body) {
  const token = await ensureSignedIn();
  const res = await fetch(`${config.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
    body: method === 'POST' ? JSON.stringify(body ?? {}) : undefined,
  });
  if (res.status === 401) {
    store.set({ token: null });
    await signIn();
  }
  const data = res.headers.get('content-type')?.includes('json') ? await res.json() : null;
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}
