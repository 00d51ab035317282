/**
 * A minimal server for the AWS JSON protocols (1.0 and 1.1) that the lab's
 * SSM, Step Functions and Secrets Manager endpoints speak, so the ordinary
 * AWS SDK v3 clients talk to the lab with only `AWS_ENDPOINT_URL_*` changed.
 *
 * Requests are `POST /` with `X-Amz-Target: <Prefix>.<Operation>` and a JSON
 * body; errors are `{"__type": "<Name>", "message": "..."}` with the name also
 * in `x-amzn-ErrorType`, which is what the SDK turns into `error.name`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export class AwsServiceError extends Error {
  constructor(
    override readonly name: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
  }
}

export type OperationHandler = (input: any) => Promise<unknown> | unknown;

export interface AwsJsonServerOptions {
  /** Target prefix, e.g. `AmazonSSM`, `AWSStepFunctions`, `secretsmanager`. */
  targetPrefix: string;
  operations: Record<string, OperationHandler>;
  port?: number;
  /** Called with every request, for the lab's logs and fault injection. */
  onRequest?: (operation: string, input: unknown) => void;
}

export interface AwsJsonServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const MAX_BODY = 8 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new AwsServiceError('RequestEntityTooLargeException', 'request body too large', 413);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: unknown, contentType: string, errorType?: string): void {
  const text = JSON.stringify(body ?? {});
  const headers: Record<string, string | number> = {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': cryptoRandomId(),
  };
  if (errorType) headers['x-amzn-errortype'] = errorType;
  res.writeHead(status, headers);
  res.end(text);
}

function cryptoRandomId(): string {
  return globalThis.crypto.randomUUID();
}

export async function startAwsJsonServer(options: AwsJsonServerOptions): Promise<AwsJsonServer> {
  const server: Server = createServer(async (req, res) => {
    const contentType = req.headers['content-type']?.includes('1.0') ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1';
    try {
      const target = String(req.headers['x-amz-target'] ?? '');
      const [prefix, operation] = target.split('.');
      if (req.method !== 'POST' || prefix !== options.targetPrefix || !operation) {
        throw new AwsServiceError('UnknownOperationException', `unsupported target "${target}"`);
      }
      const handler = options.operations[operation];
      if (!handler) throw new AwsServiceError('UnknownOperationException', `${operation} is not implemented by the lab`);
      const raw = await readBody(req);
      const input = raw ? JSON.parse(raw) : {};
      options.onRequest?.(operation, input);
      const output = await handler(input);
      send(res, 200, output ?? {}, contentType);
    } catch (err) {
      if (err instanceof AwsServiceError) {
        send(res, err.statusCode, { __type: err.name, message: err.message }, contentType, err.name);
      } else if (err instanceof SyntaxError) {
        send(res, 400, { __type: 'SerializationException', message: err.message }, contentType, 'SerializationException');
      } else {
        const message = err instanceof Error ? err.message : String(err);
        send(res, 500, { __type: 'InternalServerError', message }, contentType, 'InternalServerError');
      }
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** AWS JSON protocols carry timestamps as epoch seconds. */
export const epochSeconds = (ms: number): number => ms / 1000;
