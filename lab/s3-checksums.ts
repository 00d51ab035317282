/**
 * S3 additional checksums (SHA-256) in the lab's S3, which s3rver 3.7 ignores:
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 *
 * - PutObject / UploadPart with `x-amz-checksum-sha256` (base64 of the
 *   SHA-256 of the body): S3 computes it on arrival and refuses a mismatch
 *   (`400 BadDigest`); nothing is stored.
 * - CreateMultipartUpload with `x-amz-checksum-algorithm: SHA256` (type
 *   COMPOSITE, the default for SHA256): CompleteMultipartUpload must list
 *   every part's `ChecksumSHA256`, each the one S3 stored for the part
 *   (`400 InvalidPart` otherwise), and the object's checksum is the
 *   checksum of the parts' checksums: base64(SHA-256(digest1 ‖ … ‖ digestN))
 *   followed by `-N` ("composite", "a checksum of checksums").
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html
 * - HeadObject / GetObject with `x-amz-checksum-mode: ENABLED` answer
 *   `x-amz-checksum-sha256` and `x-amz-checksum-type` (COMPOSITE or FULL_OBJECT).
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html
 *
 * The lab hashes a body as it arrives, the way S3 does, by passing the request
 * through a hash on its way to s3rver; no whole object is ever buffered. (It
 * once read the stored file back instead: s3rver 3.7 answers once its md5
 * transform has seen the last byte, before its file write has finished, so on
 * a loaded machine the file was still short and a good part got BadDigest.)
 * Checksums live beside s3rver's files: `<upload>/<n>.sha256`,
 * `<upload>/fw-checksum-algorithm`, and `<key>._S3rver_fw-checksum.json`.
 */
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';

type Next = () => Promise<void>;
type Middleware = (ctx: any, next: Next) => Promise<void>;

const BASE64_SHA256 = /^[A-Za-z0-9+/]{43}=$/;
const UPLOAD_ID = /^[0-9a-f]{32}$/;

/**
 * Puts a SHA-256 on the request body on its way to s3rver (which reads
 * `ctx.req`; headers stay on `ctx.request`); the digest, in base64, once the
 * body has been read whole.
 */
function hashOnArrival(ctx: any): () => string {
  const hash = createHash('sha256');
  const body = ctx.req as Readable;
  ctx.req = body.pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        callback(null, chunk);
      },
    }),
  );
  body.on('error', (e) => (ctx.req as Transform).destroy(e));
  return () => hash.digest('base64');
}

/** base64(SHA-256(concatenated raw part digests)) + `-N`. */
export function compositeSha256(partChecksums: string[]): string {
  const hash = createHash('sha256');
  for (const c of partChecksums) hash.update(Buffer.from(c, 'base64'));
  return `${hash.digest('base64')}-${partChecksums.length}`;
}

const xmlError = (ctx: any, status: number, code: string, message: string) => {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
};

function parsePath(path: string): { bucket: string; key?: string } | null {
  const m = /^\/([^/]+)(?:\/(.+)|\/)?$/.exec(path);
  if (!m) return null;
  return m[2] === undefined ? { bucket: decodeURIComponent(m[1]!) } : { bucket: decodeURIComponent(m[1]!), key: decodeURIComponent(m[2]) };
}

/** Koa middleware, after authentication and before s3rver's router. */
export function checksumRoutes(): Middleware {
  return async (ctx, next) => {
    const at = parsePath(ctx.path);
    if (at?.key === undefined) return next();
    const store = ctx.app.store;
    const uploadDir = (id: string) => join(store.getResourcePath(at.bucket, undefined, 'uploads'), id);
    const objectChecksumFile = () => store.getResourcePath(at.bucket, at.key, 'fw-checksum.json');
    const method = String(ctx.method);
    const uploadId = String(ctx.query.uploadId ?? '');
    const given = ctx.get('x-amz-checksum-sha256') as string;
    if (given && !BASE64_SHA256.test(given)) return xmlError(ctx, 400, 'InvalidRequest', 'Value for x-amz-checksum-sha256 header is invalid.');

    // CreateMultipartUpload
    if (method === 'POST' && 'uploads' in ctx.query) {
      const algorithm = String(ctx.get('x-amz-checksum-algorithm') ?? '').toUpperCase();
      await next();
      const id = ctx.body?.InitiateMultipartUploadResult?.UploadId;
      if (algorithm === 'SHA256' && typeof id === 'string' && UPLOAD_ID.test(id)) {
        await writeFile(join(uploadDir(id), 'fw-checksum-algorithm'), 'SHA256');
        ctx.set('x-amz-checksum-algorithm', 'SHA256');
        ctx.set('x-amz-checksum-type', 'COMPOSITE');
      }
      return;
    }

    // UploadPart
    if (method === 'PUT' && uploadId && ctx.query.partNumber !== undefined) {
      const digest = hashOnArrival(ctx);
      await next();
      if (ctx.status !== 200 || !UPLOAD_ID.test(uploadId)) return;
      const part = join(uploadDir(uploadId), String(Number(ctx.query.partNumber)));
      const actual = digest();
      if (given && actual !== given) {
        await rm(part, { force: true });
        await rm(`${part}.md5`, { force: true });
        return xmlError(ctx, 400, 'BadDigest', 'The SHA256 you specified did not match the calculated checksum.');
      }
      if (given) {
        await writeFile(`${part}.sha256`, actual);
        ctx.set('x-amz-checksum-sha256', actual);
      }
      return;
    }

    // CompleteMultipartUpload
    if (method === 'POST' && uploadId) {
      if (!UPLOAD_ID.test(uploadId)) return next();
      const algorithm = await readFile(join(uploadDir(uploadId), 'fw-checksum-algorithm'), 'utf8').catch(() => null);
      if (algorithm !== 'SHA256') return next();
      const chunks: Buffer[] = [];
      for await (const c of ctx.req) chunks.push(c as Buffer);
      const xml = Buffer.concat(chunks).toString('utf8');
      const parts = [...xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => ({
        number: Number(/<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(m[1]!)?.[1]),
        checksum: /<ChecksumSHA256>\s*([^<\s]+)\s*<\/ChecksumSHA256>/.exec(m[1]!)?.[1],
      }));
      const sums: string[] = [];
      for (const p of parts) {
        if (!p.checksum) return xmlError(ctx, 400, 'InvalidRequest', `The upload was created using a sha256 checksum. The complete request must include the checksum for each part. It was missing for part ${p.number} in the request.`);
        const stored = await readFile(join(uploadDir(uploadId), `${p.number}.sha256`), 'utf8').catch(() => null);
        if (stored !== p.checksum) return xmlError(ctx, 400, 'InvalidPart', 'One or more of the specified parts could not be found. The part might not have been uploaded, or the specified ETag or checksum might not have matched the uploaded part.');
        sums.push(stored);
      }
      const composite = compositeSha256(sums);
      ctx.req = Readable.from([Buffer.from(xml)]); // s3rver reads the body again
      await next();
      if (ctx.status !== 200 || !ctx.body?.CompleteMultipartUploadResult) return;
      await writeFile(objectChecksumFile(), JSON.stringify({ sha256: composite, type: 'COMPOSITE' }));
      Object.assign(ctx.body.CompleteMultipartUploadResult, { ChecksumSHA256: composite, ChecksumType: 'COMPOSITE' });
      return;
    }

    // PutObject (not a copy)
    if (method === 'PUT' && !uploadId && !ctx.get('x-amz-copy-source')) {
      const digest = hashOnArrival(ctx);
      await next();
      if (ctx.status !== 200) return;
      const object = store.getResourcePath(at.bucket, at.key, 'object');
      const actual = digest();
      if (given && actual !== given) {
        await rm(object, { force: true });
        await rm(`${object}.md5`, { force: true });
        await rm(store.getResourcePath(at.bucket, at.key, 'metadata.json'), { force: true });
        return xmlError(ctx, 400, 'BadDigest', 'The SHA256 you specified did not match the calculated checksum.');
      }
      if (given) {
        await writeFile(objectChecksumFile(), JSON.stringify({ sha256: actual, type: 'FULL_OBJECT' }));
        ctx.set('x-amz-checksum-sha256', actual);
      } else await rm(objectChecksumFile(), { force: true });
      return;
    }

    // HeadObject / GetObject
    if ((method === 'HEAD' || method === 'GET') && !uploadId && String(ctx.get('x-amz-checksum-mode')).toUpperCase() === 'ENABLED') {
      await next();
      if (ctx.status !== 200 && ctx.status !== 206) return;
      const saved = await readFile(objectChecksumFile(), 'utf8').then(JSON.parse, () => null);
      if (saved) {
        ctx.set('x-amz-checksum-sha256', saved.sha256);
        ctx.set('x-amz-checksum-type', saved.type);
      }
      return;
    }
    return next();
  };
}
