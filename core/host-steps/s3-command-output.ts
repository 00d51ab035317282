/**
 * `CommandOutputReader` over S3: SSM writes an invocation's full stdout to
 * `<OutputS3KeyPrefix>/<commandId>/<instanceId>/awsrunShellScript/<step>/stdout`.
 * Only the tail is read: the result line is the last line, and a step's
 * output can be arbitrarily large.
 */
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { CommandOutputReader } from './ports';

const isNotFound = (err: unknown) => {
  const name = (err as { name?: string })?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 404;
};

/** Key of `url` inside `bucket`, for path-style and virtual-hosted S3 URLs; null when it is not that bucket. */
export function keyFromOutputUrl(url: string, bucket: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  const path = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (parsed.hostname.startsWith(`${bucket}.`)) return path || null;
  if (path.startsWith(`${bucket}/`)) return path.slice(bucket.length + 1) || null;
  return null;
}

export class S3CommandOutputReader implements CommandOutputReader {
  constructor(private readonly s3: S3Client) {}

  async readStdoutTail(loc: { bucket: string; prefix: string; url: string | null; maxBytes: number }): Promise<string | null> {
    let key = loc.url ? keyFromOutputUrl(loc.url, loc.bucket) : null;
    // Never follow a URL outside the invocation's own prefix.
    if (key && !key.startsWith(loc.prefix)) key = null;
    key ??= await this.findStdoutKey(loc.bucket, loc.prefix);
    if (!key) return null;
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: key }));
      const size = head.ContentLength ?? 0;
      // An explicit first-last range rather than the suffix form `bytes=-N`:
      // same result on S3, and s3rver misreads the suffix form as a prefix.
      const range = size > loc.maxBytes ? `bytes=${size - loc.maxBytes}-${size - 1}` : undefined;
      const out = await this.s3.send(new GetObjectCommand({ Bucket: loc.bucket, Key: key, Range: range }));
      return out.Body ? await out.Body.transformToString('utf8') : '';
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  private async findStdoutKey(bucket: string, prefix: string): Promise<string | null> {
    const out = await this.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 100 }));
    return out.Contents?.map((o) => o.Key ?? '').find((k) => k.endsWith('/stdout')) ?? null;
  }
}
