/**
 * The lab's SNS endpoint: `Publish` only, kept in memory so the demo and the
 * tests can show which alerts went out. SNS speaks the AWS Query protocol
 * (form-encoded request, XML response); the JSON protocol is answered too in
 * case a newer SDK negotiates it.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PublishedAlert {
  topicArn: string;
  subject: string | null;
  message: string;
  at: number;
}

export interface LabSns {
  endpoint: string;
  published(): PublishedAlert[];
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const xmlEscape = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

export async function startSns(options: { port?: number; onPublish?: (a: PublishedAlert) => void } = {}): Promise<LabSns> {
  const messages: PublishedAlert[] = [];
  const server = createServer(async (req, res) => {
    const text = await body(req);
    const isJson = String(req.headers['content-type'] ?? '').includes('json');
    let action: string | null;
    let params: Record<string, string>;
    if (isJson) {
      action = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? null;
      params = JSON.parse(text || '{}') as Record<string, string>;
    } else {
      const form = new URLSearchParams(text);
      action = form.get('Action');
      params = Object.fromEntries(form.entries());
    }
    if (action !== 'Publish' || !params.TopicArn || !params.Message) {
      const msg = action === 'Publish' ? 'TopicArn and Message are required' : `${action} is not implemented by the lab`;
      res.writeHead(400, { 'content-type': isJson ? 'application/x-amz-json-1.0' : 'text/xml' });
      res.end(
        isJson
          ? JSON.stringify({ __type: 'InvalidParameter', message: msg })
          : `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameter</Code><Message>${xmlEscape(msg)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
      );
      return;
    }
    const alert = { topicArn: params.TopicArn, subject: params.Subject ?? null, message: params.Message, at: Date.now() };
    messages.push(alert);
    options.onPublish?.(alert);
    const id = randomUUID();
    if (isJson) {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify({ MessageId: id }));
    } else {
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(`<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${id}</MessageId></PublishResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`);
    }
  });
  await new Promise<void>((r) => server.listen(options.port ?? 0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    published: () => [...messages],
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
