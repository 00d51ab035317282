/**
 * Redaction of what a host reports before it reaches execution history, logs
 * or the registry. Scripts are written not to print secrets; this is the net
 * under them (a pg_dump error can quote its connection URL).
 */

/** `scheme://user:password@` → `scheme://***:***@` (postgres, redis, http, ...). */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s:@/'"]+:[^\s@/'"]*@/gi;
/** Query-string credentials of presigned URLs. */
const PRESIGN_QUERY = /\b(X-Amz-(?:Signature|Credential|Security-Token)|Signature|AWSAccessKeyId)=[^&\s'"]+/gi;
const SECRET_KEY = /pass(word)?|secret|token|credential/i;

export function redactText(text: string): string {
  return text.replace(URL_CREDENTIALS, '$1***:***@').replace(PRESIGN_QUERY, '$1=***');
}

/** Deep copy with every string redacted and values under secret-looking keys replaced. */
export function redactValue(value: unknown, key = ''): unknown {
  if (typeof value === 'string') return SECRET_KEY.test(key) ? '***' : redactText(value);
  if (Array.isArray(value)) return value.map((v) => redactValue(v));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v, k)]));
  }
  return value;
}
