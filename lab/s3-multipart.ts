/**
 * The multipart-upload calls s3rver 3.7 lacks, added to the lab's s3rver so
 * a failed backup is really aborted, the way AWS does it:
 *
 * - AbortMultipartUpload (`DELETE /bucket/key?uploadId=`): 204, and the
 *   upload's parts are gone; an unknown upload is `404 NoSuchUpload`.
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html
 *   ("After a multipart upload is aborted, no additional parts can be uploaded
 *   using that upload ID. The storage consumed by any previously uploaded
 *   parts will be freed." To check, "call the ListParts action"; the same
 *   text is in @aws-sdk/client-s3's AbortMultipartUploadCommand docs.)
 * - ListParts (`GET /bucket/key?uploadId=`), so a test can see the parts.
 * - ListMultipartUploads (`GET /bucket?uploads`), so a test can see that no
 *   upload was left open.
 * - UploadPart and CompleteMultipartUpload on an upload that does not exist
 *   (never made, aborted or completed) answer `NoSuchUpload` as on AWS;
 *   s3rver would create the part folder again, or fail with InternalError.
 *
 * - Conditional creates (`If-None-Match: *` on PutObject and
 *   CompleteMultipartUpload): `412 PreconditionFailed` when the key already
 *   holds an object, so nothing is replaced; s3rver ignores the header.
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 *
 * s3rver stays the server: these routes run in front of its router, through
 * its own signature check, and read the folders its filesystem store keeps
 * (`<bucket>/._S3rver_uploads/<uploadId>/{key,metadata,<n>,<n>.md5}`).
 */
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';

// s3rver ships no types: its Koa context is `any` here.
type Next = () => Promise<void>;
type Middleware = (ctx: any, next: Next) => Promise<void>;
const fromS3rver = createRequire(createRequire(import.meta.url).resolve('s3rver'));
const authenticate = (fromS3rver('./middleware/authentication') as () => Middleware)();
const { bucketExists } = fromS3rver('./controllers/bucket') as { bucketExists: Middleware };
const S3Error = fromS3rver('./models/error') as new (code: string, message: string, detail?: Record<string, string>) => Error;

/** s3rver's upload ids are 32 hex digits; anything else names no upload (and cannot climb out of its folder). */
const UPLOAD_ID = /^[0-9a-f]{32}$/;

const noSuchUpload = (uploadId: string) =>
  new S3Error(
    'NoSuchUpload',
    'The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    { UploadId: uploadId },
  );

const uploadsDir = (ctx: any): string => ctx.app.store.getResourcePath(ctx.params.bucket, undefined, 'uploads');

/** The folder of the request's upload, when it exists and was made for the request's key; else NoSuchUpload. */
async function openUpload(ctx: any): Promise<string> {
  const uploadId = String(ctx.query.uploadId ?? '');
  if (!UPLOAD_ID.test(uploadId)) throw noSuchUpload(uploadId);
  const dir = join(uploadsDir(ctx), uploadId);
  const key = await readFile(join(dir, 'key'), 'utf8').catch(() => null);
  if (key !== ctx.params.key) throw noSuchUpload(uploadId);
  return dir;
}

async function abortUpload(ctx: any): Promise<void> {
  await rm(await openUpload(ctx), { recursive: true, force: true });
  ctx.status = 204;
}

async function listParts(ctx: any): Promise<void> {
  const dir = await openUpload(ctx);
  const numbers = (await readdir(dir)).filter((f) => /^\d+$/.test(f)).map(Number).sort((a, b) => a - b);
  const parts = await Promise.all(
    numbers.map(async (n) => {
      const s = await stat(join(dir, String(n)));
      const md5 = await readFile(join(dir, `${n}.md5`), 'utf8');
      return { PartNumber: n, LastModified: s.mtime.toISOString(), ETag: JSON.stringify(md5), Size: s.size };
    }),
  );
  ctx.body = {
    ListPartsResult: { Bucket: ctx.params.bucket, Key: ctx.params.key, UploadId: ctx.query.uploadId, IsTruncated: false, Part: parts },
  };
}

/** Every open upload of the bucket under `?prefix=`, in one page (the lab never holds a thousand). */
async function listUploads(ctx: any): Promise<void> {
  const prefix = String(ctx.query.prefix ?? '');
  const ids = await readdir(uploadsDir(ctx)).catch(() => [] as string[]);
  const uploads = [];
  for (const id of ids.filter((i) => UPLOAD_ID.test(i))) {
    const dir = join(uploadsDir(ctx), id);
    const key = await readFile(join(dir, 'key'), 'utf8').catch(() => null);
    if (key === null || !key.startsWith(prefix)) continue;
    uploads.push({ Key: key, UploadId: id, Initiated: (await stat(dir)).birthtime.toISOString() });
  }
  uploads.sort((a, b) => (a.Key === b.Key ? a.Initiated.localeCompare(b.Initiated) : a.Key < b.Key ? -1 : 1));
  ctx.body = { ListMultipartUploadsResult: { Bucket: ctx.params.bucket, Prefix: prefix, IsTruncated: false, Upload: uploads } };
}

/** A conditional create of a key that already holds an object replaces nothing. */
async function createOnly(ctx: any, next: Next): Promise<void> {
  if (await ctx.app.store.existsObject(ctx.params.bucket, ctx.params.key)) {
    throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-None-Match' });
  }
  return next();
}

/** Path-style `/bucket[/key]`, decoded as s3rver's router decodes it. */
function parsePath(path: string): { bucket: string; key?: string } | null {
  const m = /^\/([^/]+)(?:\/(.+)|\/)?$/.exec(path);
  if (!m) return null;
  return m[2] === undefined ? { bucket: decodeURIComponent(m[1]!) } : { bucket: decodeURIComponent(m[1]!), key: decodeURIComponent(m[2]) };
}

/** Koa middleware to run just before s3rver's router; requests it does not own pass through untouched. */
export function multipartRoutes(): Middleware {
  return async (ctx, next) => {
    const at = parsePath(ctx.path);
    const method = String(ctx.method);
    const conditional = ctx.get('if-none-match') === '*';
    let handler: ((ctx: any) => Promise<void>) | null = null;
    if (at?.key !== undefined && 'uploadId' in ctx.query) {
      if (method === 'DELETE') handler = abortUpload;
      else if (method === 'GET') handler = listParts;
      // UploadPart / CompleteMultipartUpload: only on an upload that exists, then s3rver's own code
      else if (method === 'PUT') handler = async (c) => (await openUpload(c), next());
      else if (method === 'POST') handler = async (c) => (await openUpload(c), conditional ? createOnly(c, next) : next());
    } else if (at?.key !== undefined && method === 'PUT' && conditional && !ctx.get('x-amz-copy-source')) {
      handler = (c) => createOnly(c, next);
    } else if (at && at.key === undefined && method === 'GET' && 'uploads' in ctx.query) {
      handler = listUploads;
    }
    const handle = handler;
    if (!handle) return next();
    ctx.params = { ...at };
    await authenticate(ctx, () => bucketExists(ctx, () => handle(ctx)));
  };
}
