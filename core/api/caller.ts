/**
 * Who is calling the operator API, from the authenticated request context
 * API Gateway hands the function, never from anything the caller says about
 * itself:
 * - IAM routes (SigV4): `requestContext.authorizer.iam` carries the signing
 *   principal (`userArn`, e.g. `arn:aws:sts::111122223333:assumed-role/Ops/alice`).
 * - Console routes (JWT authorizer, a Cognito user pool access token):
 *   `requestContext.authorizer.jwt.claims` carries `username`, `sub` and `iss`.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html
 */
import { z } from 'zod';
import { REASON_PATTERN } from '../models';
import { ApiError } from './http';

/** `requestContext.authorizer` of an HTTP API payload 2.0 event, as far as identity goes. */
export const AuthorizerContext = z.looseObject({
  iam: z
    .looseObject({
      accessKey: z.string().nullish(),
      accountId: z.string().nullish(),
      callerId: z.string().nullish(),
      userArn: z.string().nullish(),
      userId: z.string().nullish(),
    })
    .optional(),
  jwt: z
    .looseObject({
      claims: z.record(z.string(), z.unknown()),
      scopes: z.array(z.string()).nullish(),
    })
    .optional(),
});
export type AuthorizerContext = z.infer<typeof AuthorizerContext>;

export type Caller =
  | { kind: 'iam'; arn: string; accountId: string | null; userId: string | null }
  | { kind: 'user'; username: string; subject: string; issuer: string | null; groups: string[] };

export const CallerView = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('iam'), arn: z.string(), accountId: z.string().nullable(), userId: z.string().nullable() }),
  z.object({ kind: z.literal('user'), username: z.string(), subject: z.string(), issuer: z.string().nullable(), groups: z.array(z.string()) }),
]);

const claim = (claims: Record<string, unknown>, name: string): string | null => {
  const v = claims[name];
  return typeof v === 'string' && v.length > 0 ? v : null;
};

/**
 * The caller of an authenticated request.
 * @throws ApiError unauthenticated when the context names nobody (a route deployed without an authorizer)
 */
export function callerOf(authorizer: AuthorizerContext | null | undefined): Caller {
  const iam = authorizer?.iam;
  if (iam?.userArn) return { kind: 'iam', arn: iam.userArn, accountId: iam.accountId ?? null, userId: iam.userId ?? null };
  const claims = authorizer?.jwt?.claims;
  if (claims) {
    const subject = claim(claims, 'sub');
    const username = claim(claims, 'username') ?? claim(claims, 'cognito:username') ?? subject;
    if (subject && username) {
      const groups = claims['cognito:groups'];
      return {
        kind: 'user',
        username,
        subject,
        issuer: claim(claims, 'iss'),
        groups: Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : [],
      };
    }
  }
  throw new ApiError('unauthenticated', 'the request carries no authenticated identity (every route needs IAM or a console sign-in)');
}

/** Printable ASCII only, as the audit log's and the workflows' `requestedBy` take it (REASON_PATTERN). */
const printable = (s: string) => s.replace(/[^\x20-\x7E]/g, '?').slice(0, 480);

/** How the caller is named in the audit log and in every execution it starts (`requestedBy`). */
export function actorOf(caller: Caller): string {
  const actor = caller.kind === 'iam' ? printable(caller.arn) : `console:${printable(caller.username)} (${printable(caller.subject)})`.slice(0, 500);
  if (!REASON_PATTERN.test(actor)) throw new ApiError('unauthenticated', 'the caller\'s identity cannot be recorded');
  return actor;
}
