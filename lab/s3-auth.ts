/**
 * Authentication and authorization of the lab's S3, as S3 does it (s3rver
 * 3.7 accepts any SigV4 signature of a key it knows and any anonymous
 * request). Runs before s3rver's router:
 *
 * - SigV4, in the Authorization header or presigned in the query, verified
 *   by signing the received request again (service `s3`, the path as sent,
 *   the headers the caller signed, `x-amz-content-sha256` as the payload
 *   hash) with the secret of the access key, looked up in the lab's STS.
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html
 *   A header-signed request needs `x-amz-content-sha256` ("required for all
 *   AWS Signature Version 4 requests") and an x-amz-date within 15 minutes.
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 * - temporary credentials need their session token (`x-amz-security-token`
 *   or `X-Amz-Security-Token`); after the session ends: 400 ExpiredToken.
 *   A presigned URL also ends at X-Amz-Expires (scaled by the lab clock):
 *   403 AccessDenied "Request has expired".
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
 * - anonymous requests: 403 AccessDenied (the backup bucket blocks public access).
 * - the identity's access (a host's session: only its own backup prefix) is
 *   checked for the key; anything else is 403 AccessDenied.
 *
 * A verified request is handed to s3rver without its signature (s3rver
 * would refuse session keys it does not know), with the identity in
 * `ctx.state.labIdentity`.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256, parseAuthorization, sameSignature } from '../core/api/sigv4';
import type { LabClock } from './clock';
import type { LabIdentity, LabSts } from './sts';

type Next = () => Promise<void>;
type Middleware = (ctx: any, next: Next) => Promise<void>;

/** S3's allowed clock skew for a signed request. */
export const MAX_SKEW_MS = 15 * 60 * 1000;
/** SigV4 presigned URLs: X-Amz-Expires at most 7 days. */
export const MAX_PRESIGN_SECONDS = 604_800;

export class LabS3Error extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const amzDate = (v: string): number | null => {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(v);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : null;
};

/** The raw path and query pairs as sent (Koa decodes ctx.path). */
function rawTarget(ctx: any): { path: string; query: [string, string][] } {
  const url: string = ctx.originalUrl ?? ctx.url;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? [] : [...new URLSearchParams(url.slice(q + 1))];
  return { path, query };
}

const signer = (identity: LabIdentity, region: string) =>
  new SignatureV4({
    credentials: { accessKeyId: identity.accessKeyId, secretAccessKey: identity.secretAccessKey, sessionToken: identity.sessionToken },
    region,
    service: 's3',
    sha256: NodeSha256,
    uriEscapePath: false,
    applyChecksum: false,
  });

const deny = (message = 'Access Denied') => new LabS3Error('AccessDenied', 403, message);

export interface LabS3AuthOptions {
  sts: LabSts;
  clock: LabClock;
}

/** Who signed the request, after checking signature, token and expiry; throws LabS3Error. */
export async function verifyRequest(ctx: any, { sts, clock }: LabS3AuthOptions): Promise<LabIdentity> {
  const { path, query } = rawTarget(ctx);
  const presigned = query.some(([k]) => k === 'X-Amz-Algorithm');
  const header = ctx.get('authorization') as string;
  if (!presigned && !header) throw deny();
  if (presigned && header) throw new LabS3Error('InvalidArgument', 400, 'Only one auth mechanism allowed');

  const q = Object.fromEntries(query);
  const auth = presigned
    ? parseAuthorization(
        `AWS4-HMAC-SHA256 Credential=${q['X-Amz-Credential'] ?? ''}, SignedHeaders=${q['X-Amz-SignedHeaders'] ?? ''}, Signature=${q['X-Amz-Signature'] ?? ''}`,
      )
    : parseAuthorization(header);
  if (!auth) throw new LabS3Error('AuthorizationHeaderMalformed', 400, 'The authorization header is malformed (AWS4-HMAC-SHA256 Credential, SignedHeaders, Signature)');
  if (auth.service !== 's3') throw new LabS3Error('AuthorizationHeaderMalformed', 400, `the credential scope names service ${auth.service}, not s3`);

  const identity = sts.lookup(auth.accessKeyId);
  if (!identity) throw new LabS3Error('InvalidAccessKeyId', 403, 'The AWS Access Key Id you provided does not exist in our records.');
  const token = presigned ? q['X-Amz-Security-Token'] : (ctx.get('x-amz-security-token') as string);
  if (identity.sessionToken !== undefined && token !== identity.sessionToken) {
    throw new LabS3Error('InvalidToken', 400, 'The provided token is malformed or otherwise invalid.');
  }
  if (sts.expired(identity)) throw new LabS3Error('ExpiredToken', 400, 'The provided token has expired.');

  const dateText = presigned ? (q['X-Amz-Date'] ?? '') : (ctx.get('x-amz-date') as string);
  const signedAt = amzDate(dateText);
  if (signedAt === null || auth.date !== dateText.slice(0, 8)) throw new LabS3Error('AccessDenied', 403, 'X-Amz-Date is missing or does not match the credential scope');
  if (!auth.signedHeaders.includes('host')) throw new LabS3Error('AccessDenied', 403, 'the host header must be signed');

  const headers: Record<string, string> = {};
  for (const h of auth.signedHeaders) {
    const v = ctx.get(h) as string;
    if (v === '' && ctx.headers[h] === undefined) throw new LabS3Error('AccessDenied', 403, `signed header ${h} is missing`);
    headers[h] = v;
  }
  const base = { method: ctx.method as string, protocol: 'http:', hostname: String(ctx.host).split(':')[0]!, path };
  let expected: string;
  if (presigned) {
    const expires = Number(q['X-Amz-Expires']);
    if (!Number.isInteger(expires) || expires < 1 || expires > MAX_PRESIGN_SECONDS) throw new LabS3Error('AuthorizationQueryParametersError', 400, 'X-Amz-Expires must be 1..604800');
    if (Date.now() > signedAt + clock.real(expires * 1000)) throw deny('Request has expired');
    const rest = Object.fromEntries(query.filter(([k]) => !/^X-Amz-(Algorithm|Credential|Date|Expires|SignedHeaders|Signature|Security-Token|Content-Sha256)$/.test(k)));
    // the SDK's S3 presigner signs UNSIGNED-PAYLOAD as a query parameter: as a header here, the signer hoists it back
    const payload: Record<string, string> = q['X-Amz-Content-Sha256'] ? { 'X-Amz-Content-Sha256': q['X-Amz-Content-Sha256'] } : {};
    const signed = await signer(identity, auth.region).presign(
      { ...base, query: rest, headers: { ...headers, ...payload } },
      { signingDate: new Date(signedAt), expiresIn: expires, unhoistableHeaders: new Set(Object.keys(headers)), signableHeaders: new Set(Object.keys(headers)) },
    );
    expected = String(signed.query?.['X-Amz-Signature'] ?? '');
  } else {
    if (Math.abs(Date.now() - signedAt) > MAX_SKEW_MS) throw new LabS3Error('RequestTimeTooSkewed', 403, 'The difference between the request time and the current time is too large.');
    if (!headers['x-amz-content-sha256']) throw new LabS3Error('InvalidRequest', 400, 'Missing required header for this request: x-amz-content-sha256');
    const signed = await signer(identity, auth.region).sign({ ...base, query: Object.fromEntries(query), headers }, { signingDate: new Date(signedAt) });
    expected = parseAuthorization(String(signed.headers.authorization))?.signature ?? '';
  }
  if (!sameSignature(expected, auth.signature)) {
    throw new LabS3Error('SignatureDoesNotMatch', 403, 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
  }
  return identity;
}

/** Path-style `/bucket[/key]` (decoded). */
function target(path: string): { bucket?: string; key?: string } {
  const m = /^\/([^/]+)(?:\/(.*))?$/.exec(path);
  if (!m) return {};
  return { bucket: decodeURIComponent(m[1]!), key: m[2] ? decodeURIComponent(m[2]) : undefined };
}

/** The identity's access for this request: a prefix-scoped session may only touch keys under its prefixes, never a bucket-level call. */
export function authorize(identity: LabIdentity, ctx: any): void {
  const prefixes = identity.access.objectPrefixes;
  if (prefixes === undefined) return;
  const { key } = target(rawTarget(ctx).path);
  if (key === undefined || !prefixes.some((p) => key.startsWith(p))) {
    throw deny(`Access Denied: ${identity.arn} may not access this key`);
  }
}

/** Koa middleware: verify, authorize, then hand the request to s3rver unsigned. */
export function s3Authentication(options: LabS3AuthOptions): Middleware {
  return async (ctx, next) => {
    try {
      const identity = await verifyRequest(ctx, options);
      authorize(identity, ctx);
      ctx.state.labIdentity = identity;
    } catch (err) {
      if (!(err instanceof LabS3Error)) throw err;
      ctx.status = err.status;
      ctx.type = 'application/xml';
      ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${err.code}</Code><Message>${err.message.replace(/[<>&]/g, '')}</Message></Error>`;
      return;
    }
    delete ctx.req.headers.authorization;
    const { query } = rawTarget(ctx);
    const kept = query.filter(([k]) => !/^X-Amz-/i.test(k));
    ctx.querystring = new URLSearchParams(kept).toString();
    return next();
  };
}
