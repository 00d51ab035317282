/**
 * The one redaction of fleetwave's TypeScript: anything that may reach a log,
 * an error message, execution history, a registry row or the CLI's output
 * goes through here. pg and URL parsers echo connection strings in their
 * errors, and a host step can report a pg_dump or curl error quoting a
 * presigned URL. Scripts are written not to print secrets; this is the net
 * under them.
 *
 * `fw_redact` in ssm-documents/scripts/common.sh is the same rules for the
 * host, in awk. Both are checked against test/fixtures/secret-shapes.json and
 * must give the same output for every case there (text is redacted on the
 * host, then again here, so they must also agree on what is already masked):
 * change them together. Classes are spelled out (no `\s`, no `\b`) because
 * awk has neither.
 */

const MASK = '***';

// URL user-info of any scheme, `user:password@` or a bare `token@`, becomes
// `***@` (a username can be a token: https://ghp_x@github.com). The password
// runs to the last `@` before whitespace or `"`, so a raw `@` or `/` in it is
// masked whole: over-masking a host name is better than leaking a suffix.
// `host:8443/path?to=a@b` is a port, not a password (digits then / ? #).
const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)(?:[^ \t\n\r\f\v:/?#@'"]*:(?![0-9]+[/?#])[^ \t\n\r\f\v"]*|[^ \t\n\r\f\v:/?#@'"]+)@/gi;

// HTTP headers in a header line, a JSON object or util.inspect output. The
// scheme word stays (it says which credential was refused); everything after
// it up to a quote or the end of the line is the credential.
const AUTH_HEADER =
  /(authorization|x-amz-security-token)(["']?[ \t]*:[ \t]*["']?)((?:basic|bearer|digest|negotiate|ntlm|token|aws4-hmac-sha256|aws)[ \t]+)?[^"'\n\r]*/gi;

// Query parameters of presigned S3 URLs (SigV4 and SigV2).
const PRESIGNED_QUERY = /(x-amz-signature|x-amz-credential|x-amz-security-token|signature|awsaccesskeyid)=[^& \t\n\r\f\v'"]+/gi;

// `key=value` (libpq conninfo, env files, CLI flags), `"key": value` (JSON)
// and `key: value` (YAML, util.inspect) for keys that name a secret. An
// unquoted key before `:` needs a space after it, so an ARN's `:secret:name`
// is left alone. Quoted values keep their quotes (`"password":"***"` is still
// JSON); a quote left open runs to the end of the line, as a message cut
// short would leave it.
const SECRET_KEY = '[a-z0-9_.-]*(?:password|passwd|secret|secret_access_key|secret_key|session_token|access_token|api_key|database_url)';
const QUOTED = `"(?:[^"\\\\\\n\\r]|\\\\.)*"?|'(?:[^'\\\\\\n\\r]|\\\\.)*'?`;
const KEY_VALUE = new RegExp(
  `(${SECRET_KEY})(?:(["']?[ \\t]*=[ \\t]*)(${QUOTED}|[^ \\t\\n\\r\\f\\v"]+)|(["'][ \\t]*:[ \\t]*|[ \\t]*:[ \\t]+)(${QUOTED}|[^ \\t\\n\\r\\f\\v"',}\\]]+))`,
  'gi',
);

const maskValue = (value: string) => (value.startsWith('"') || value.startsWith("'") ? `${value[0]}${MASK}${value[0]}` : MASK);

/** `text` with every credential shape this module knows replaced by `***`. */
export function redactSecrets(text: string): string {
  return text
    .replace(URL_USERINFO, (_m, scheme: string) => `${scheme}${MASK}@`)
    .replace(AUTH_HEADER, (_m, name: string, sep: string, scheme: string | undefined) => `${name}${sep}${scheme ?? ''}${MASK}`)
    .replace(PRESIGNED_QUERY, (_m, name: string) => `${name}=${MASK}`)
    .replace(KEY_VALUE, (_m, key: string, eqSep?: string, eqValue?: string, colonSep?: string, colonValue?: string) =>
      eqSep !== undefined ? `${key}${eqSep}${maskValue(eqValue!)}` : `${key}${colonSep}${maskValue(colonValue!)}`,
    );
}

// Object keys whose string values are dropped whole, whatever they look like.
const SECRET_FIELD = /pass|secret|token|credential/i;

/**
 * Deep copy of a JSON-like value (audit details, step results) with every
 * string redacted and string values under secret-looking keys replaced by
 * `***`. Numbers stay: a lease `token` is a fencing number, not a secret.
 */
export function redactDeep<T>(value: T): T {
  return redactUnder(value, '') as T;
}

function redactUnder(value: unknown, key: string): unknown {
  if (typeof value === 'string') return SECRET_FIELD.test(key) ? MASK : redactSecrets(value);
  if (Array.isArray(value)) return value.map((v) => redactUnder(v, key));
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactUnder(v, k)]));
  }
  return value;
}

/** An Error safe to log or rethrow: same name, redacted message and stack. */
export function scrubError(err: unknown): Error {
  if (!(err instanceof Error)) return new Error(redactSecrets(String(err)));
  // In place: the class, `name` (what Step Functions matches) and fields such as
  // InvalidTaskInputError.fields survive; the message, stack and cause chain do not leak.
  err.message = redactSecrets(err.message);
  if (err.stack) err.stack = redactSecrets(err.stack);
  if ('cause' in err) delete (err as { cause?: unknown }).cause;
  return err;
}
