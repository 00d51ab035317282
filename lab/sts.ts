/**
 * The lab's STS: temporary security credentials (access key id, secret,
 * session token) that expire on the lab clock, and the lab's long-term keys
 * (an IAM user's, which never expire). The lab's S3 (lab/s3-auth.ts) looks
 * every signed request's access key up here; a request signed by a session
 * that has ended is refused with `400 ExpiredToken`, as S3 does.
 *
 * AWS facts emulated:
 * - AssumeRole: DurationSeconds "can have a value from 900 seconds (15
 *   minutes) up to the maximum session duration setting for the role", at
 *   most 43,200 s; default 3,600 s. Role chaining (a role session assuming
 *   another role, e.g. from a Lambda's role) is limited to one hour.
 *   https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
 * - Temporary credentials are an access key id starting `ASIA`, a secret and
 *   a session token that must accompany every request (`x-amz-security-token`);
 *   once expired they are refused.
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_use-resources.html
 * - S3's answer to an expired token: `ExpiredToken`, "The provided token has
 *   expired.", 400 Bad Request.
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
 *
 * Durations are simulated seconds; a session lasts `clock.real(duration)` of
 * real time, so a one-hour session ends before a six-hour transfer does at
 * any time scale.
 */
import { randomBytes } from 'node:crypto';
import type { LabClock } from './clock';

export const MIN_SESSION_SECONDS = 900;
export const MAX_SESSION_SECONDS = 43_200;
export const ROLE_CHAINING_MAX_SECONDS = 3_600;

/** What a request signed with these credentials may touch in the lab's S3 (the policy the role's session is evaluated against). */
export interface LabAccess {
  /** Object keys the identity may read and write, by prefix; undefined: every key and bucket-level call (an administrator's or a task role's). */
  objectPrefixes?: string[];
}

export interface LabIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  /** Only for temporary credentials. */
  sessionToken?: string;
  arn: string;
  /** Real epoch ms after which the credentials are refused; undefined for long-term keys. */
  expiresAt?: number;
  /** Condition-key values of the session, e.g. `ssm:SourceInstanceARN` of a managed node's credentials. */
  context: Record<string, string>;
  access: LabAccess;
}

export interface AssumeRoleInput {
  roleArn: string;
  sessionName: string;
  /** Simulated seconds; 900..43200, default 3600. */
  durationSeconds?: number;
  /** The caller is itself a role session: at most one hour. */
  chained?: boolean;
  context?: Record<string, string>;
  access?: LabAccess;
}

export interface LabCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** Real time at which they stop working. */
  expiration: Date;
}

const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

export class LabSts {
  private readonly identities = new Map<string, LabIdentity>();

  constructor(
    private readonly clock: LabClock,
    private readonly now: () => number = Date.now,
  ) {}

  /** Long-term keys (an IAM user's): never expire. */
  addUser(identity: { accessKeyId: string; secretAccessKey: string; arn: string; access?: LabAccess }): void {
    this.identities.set(identity.accessKeyId, { ...identity, context: {}, access: identity.access ?? {} });
  }

  assumeRole(input: AssumeRoleInput): LabCredentials {
    const duration = input.durationSeconds ?? 3600;
    const max = input.chained ? ROLE_CHAINING_MAX_SECONDS : MAX_SESSION_SECONDS;
    if (!Number.isInteger(duration) || duration < MIN_SESSION_SECONDS || duration > max) {
      throw new RangeError(`DurationSeconds must be an integer from ${MIN_SESSION_SECONDS} to ${max}${input.chained ? ' (role chaining)' : ''}, not ${duration}`);
    }
    if (!SESSION_NAME.test(input.sessionName)) throw new RangeError('RoleSessionName must be 2 to 64 characters of letters, digits and +=,.@_-');
    const m = /^arn:aws:iam::(\d{12}):role\/(.+)$/.exec(input.roleArn);
    if (!m) throw new RangeError(`RoleArn is not a role ARN: ${input.roleArn}`);
    const accessKeyId = `ASIA${randomBytes(8).toString('hex').toUpperCase()}`;
    const identity: LabIdentity = {
      accessKeyId,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(96).toString('base64'),
      arn: `arn:aws:sts::${m[1]}:assumed-role/${m[2]!.split('/').pop()}/${input.sessionName}`,
      expiresAt: this.now() + this.clock.real(duration * 1000),
      context: input.context ?? {},
      access: input.access ?? {},
    };
    this.identities.set(accessKeyId, identity);
    return { accessKeyId, secretAccessKey: identity.secretAccessKey, sessionToken: identity.sessionToken!, expiration: new Date(identity.expiresAt!) };
  }

  lookup(accessKeyId: string): LabIdentity | undefined {
    return this.identities.get(accessKeyId);
  }

  /** True when the identity's session has ended (long-term keys never do). */
  expired(identity: LabIdentity): boolean {
    return identity.expiresAt !== undefined && this.now() >= identity.expiresAt;
  }

  /** Forget sessions that ended more than a simulated day ago (the lab can run for hours). */
  prune(): void {
    const horizon = this.now() - this.clock.real(86_400_000);
    for (const [id, identity] of this.identities) if (identity.expiresAt !== undefined && identity.expiresAt < horizon) this.identities.delete(id);
  }
}
