/**
 * Secret scrubbing for anything that may reach a log, the audit log or an
 * execution's output. pg and URL parsers echo connection strings in their
 * errors; a Lambda that logs `err.message` would leak the password.
 */

// Greedy up to the last `@` before whitespace: a password with a raw `@` is
// masked whole (over-masking a host name is better than leaking a suffix).
const URL_CREDENTIALS = /\b(postgres(?:ql)?:\/\/)([^:@/\s]*):([^\s]*)@/gi;
// libpq key/value strings and JSON secrets: password=..., "password": "..."
const KV_PASSWORD = /\b(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s]+)/gi;
const JSON_PASSWORD = /("password"\s*:\s*)"(?:[^"\\]|\\.)*"/gi;

export function redactSecrets(text: string): string {
  return text
    .replace(URL_CREDENTIALS, (_m, scheme: string, user: string) => `${scheme}${user}:***@`)
    .replace(KV_PASSWORD, (_m, key: string) => `${key}***`)
    .replace(JSON_PASSWORD, (_m, key: string) => `${key}"***"`);
}

/** Redacts every string inside a JSON-like value (audit details, step results). */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redactSecrets(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v);
    return out as T;
  }
  return value;
}

/** An Error safe to log or rethrow: same name, redacted message, no stack of secrets. */
export function scrubError(err: unknown): Error {
  if (!(err instanceof Error)) return new Error(redactSecrets(String(err)));
  const clean = new Error(redactSecrets(err.message));
  clean.name = err.name;
  if (err.stack) clean.stack = redactSecrets(err.stack);
  return clean;
}
