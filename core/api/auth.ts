/**
 * How the operator API is reached and authenticated, shared by the stack
 * (lib/operator-api.ts), the lab's API Gateway stand-in (lab/api.ts) and the
 * console (console/): one place, so the three agree.
 *
 * - `/api/...`: IAM authorization (SigV4, service `execute-api`): the CLI and
 *   operators' tooling, with credentials from the standard AWS chain.
 * - `/console/api/...`: a JWT authorizer over the console's Cognito user pool;
 *   the browser sends the access token as a bearer token (never a cookie, so a
 *   page of another site cannot make the browser send it: docs/decisions/console-auth.md).
 */
export const API_PREFIX = '/api';
export const CONSOLE_API_PREFIX = '/console/api';
/** Resource server and scope a console access token must carry (ID tokens carry no scope). */
export const CONSOLE_RESOURCE_SERVER = 'fleetwave';
export const CONSOLE_SCOPE = `${CONSOLE_RESOURCE_SERVER}/operate`;
/** What the console asks for at sign-in. */
export const CONSOLE_SCOPES = ['openid', 'email', CONSOLE_SCOPE];

/** The console's config.json: where the API is and how to sign in (public: it holds no secret). */
export interface ConsoleConfig {
  apiUrl: string;
  auth: {
    authorizeUrl: string;
    tokenUrl: string;
    logoutUrl: string;
    clientId: string;
    scopes: string[];
  };
  /** A label shown in the header: the stack or `lab`. */
  environment: string;
}

/** The config of a console whose user pool domain is `authBase` (https://<prefix>.auth.<region>.amazoncognito.com). */
export function consoleConfig(apiBase: string, authBase: string, clientId: string, environment: string): ConsoleConfig {
  return {
    apiUrl: `${apiBase.replace(/\/$/, '')}${CONSOLE_API_PREFIX}`,
    auth: {
      authorizeUrl: `${authBase}/oauth2/authorize`,
      tokenUrl: `${authBase}/oauth2/token`,
      logoutUrl: `${authBase}/logout`,
      clientId,
      scopes: CONSOLE_SCOPES,
    },
    environment,
  };
}

/** The console's content security policy: scripts and styles only its own, requests only to `connectSources`. */
export function consoleContentSecurityPolicy(connectSources: string[]): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ${connectSources.join(' ')}`,
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}
