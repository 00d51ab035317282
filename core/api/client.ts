/**
 * A client of the operator API's IAM routes: each request signed with SigV4
 * (service execute-api) by the SDK's signer, with credentials from whatever
 * provider it is given (the CLI: the SDK's default chain). The answer is the
 * API's JSON, with its status; a failing one carries `ApiErrorBody`.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { apiSigner } from './sigv4';

export interface ApiAnswer<T = unknown> {
  status: number;
  body: T;
}

export interface OperatorApiClientOptions {
  /** The IAM base, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com/api`. */
  baseUrl: string;
  region: string;
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Per-request timeout; API Gateway itself gives up after 30 s. */
  timeoutMs?: number;
}

export class OperatorApiClient {
  readonly #base: URL;
  constructor(private readonly options: OperatorApiClientOptions) {
    this.#base = new URL(options.baseUrl.replace(/\/$/, ''));
  }

  async call<T = unknown>(method: 'GET' | 'POST', path: string, body?: unknown, query: Record<string, string | number | undefined> = {}): Promise<ApiAnswer<T>> {
    const url = new URL(`${this.#base.pathname}${path}`, this.#base);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    const text = method === 'POST' ? JSON.stringify(body ?? {}) : undefined;
    const headers: Record<string, string> = { host: url.host, accept: 'application/json' };
    if (text !== undefined) headers['content-type'] = 'application/json';
    const querySigned: Record<string, string> = Object.fromEntries(url.searchParams);
    const signed = await apiSigner(this.options.credentials, this.options.region).sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query: querySigned,
      headers,
      body: text,
    });
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<ApiAnswer<T>>((resolve, reject) => {
      const req = send(url, { method, headers: signed.headers as Record<string, string>, timeout: this.options.timeoutMs ?? 35_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = raw;
          try {
            parsed = raw ? JSON.parse(raw) : null;
          } catch {
            /* not JSON: an error page from in front of the API */
          }
          resolve({ status: res.statusCode ?? 0, body: parsed as T });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`the operator API did not answer within ${Math.round((this.options.timeoutMs ?? 35_000) / 1000)} s`)));
      req.on('error', reject);
      if (text !== undefined) req.write(text);
      req.end();
    });
  }
}
