/**
 * The lab's CloudWatch metrics endpoint: PutMetricData keeps datapoints in
 * memory; ListMetrics and GetMetricStatistics read them back.
 *
 * Protocol: @aws-sdk/client-cloudwatch 3.11xx speaks AWS JSON 1.0 (its
 * `protocol` is `AwsJson1_0Protocol` with `awsQueryCompatible: true`):
 * `POST /`, `X-Amz-Target: GraniteServiceVersion20100801.<Operation>`,
 * a JSON body with timestamps as epoch seconds, and `x-amzn-query-mode: true`.
 * PutMetricData bodies may be gzip-compressed (the operation's
 * `requestCompression` trait: the SDK compresses bodies of 10 KiB and more).
 * Errors are `{"__type": "<Shape>Exception", "message"}` plus `x-amzn-query-error: <Code>;Sender`,
 * which query-compatible clients read for the error code.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { z } from 'zod';

export const CLOUDWATCH_TARGET_PREFIX = 'GraniteServiceVersion20100801';

export interface Datapoint {
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  /** Epoch ms. */
  timestamp: number;
  value: number;
  unit: string | undefined;
}

export interface LabCloudWatch {
  endpoint: string;
  /** Every datapoint received, oldest first; optionally one namespace / metric. */
  datapoints(filter?: { namespace?: string; metricName?: string; dimensions?: Record<string, string> }): Datapoint[];
  close(): Promise<void>;
}

/** Query error code → the JSON protocol's shape name (what the SDK turns into `error.name`). */
const SHAPE_OF: Record<string, string> = {
  InvalidParameterValue: 'InvalidParameterValueException',
  MissingParameter: 'MissingRequiredParameterException',
  InternalServiceError: 'InternalServiceFault',
};

class CloudWatchError extends Error {
  constructor(
    /** The query-protocol code (`x-amzn-query-error`). */
    readonly code: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
    this.name = SHAPE_OF[code] ?? code;
  }
}

const Dimension = z.object({ Name: z.string().min(1).max(255), Value: z.string().min(1).max(1024) });
/** The SDK sends Date members as epoch seconds (numbers) in JSON 1.0. */
const Timestamp = z.union([z.number(), z.string().transform((s) => Date.parse(s) / 1000)]);

const PutMetricDataInput = z.object({
  Namespace: z
    .string()
    .min(1)
    .max(255)
    .refine((n) => !n.startsWith('AWS/'), { message: 'the AWS/ namespace prefix is reserved' }),
  MetricData: z
    .array(
      z.object({
        MetricName: z.string().min(1).max(255),
        Dimensions: z.array(Dimension).max(30).optional(),
        Timestamp: Timestamp.optional(),
        Value: z.number().optional(),
        Values: z.array(z.number()).optional(),
        Counts: z.array(z.number()).optional(),
        StatisticValues: z.object({ SampleCount: z.number(), Sum: z.number(), Minimum: z.number(), Maximum: z.number() }).optional(),
        Unit: z.string().optional(),
        StorageResolution: z.number().optional(),
      }),
    )
    .min(1)
    .max(1000),
});

const ListMetricsInput = z.object({
  Namespace: z.string().optional(),
  MetricName: z.string().optional(),
  Dimensions: z.array(z.object({ Name: z.string(), Value: z.string().optional() })).optional(),
  NextToken: z.string().optional(),
});

const GetMetricStatisticsInput = z.object({
  Namespace: z.string().min(1),
  MetricName: z.string().min(1),
  Dimensions: z.array(Dimension).optional(),
  StartTime: Timestamp,
  EndTime: Timestamp,
  Period: z.number().int().min(1),
  Statistics: z.array(z.enum(['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum'])).min(1).optional(),
  Unit: z.string().optional(),
});

function parse<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const r = schema.safeParse(input);
  if (!r.success) {
    throw new CloudWatchError('InvalidParameterValue', r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  return r.data;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    // PutMetricData's payload limit is 1 MB (compressed)
    if (size > 1024 * 1024) throw new CloudWatchError('RequestEntityTooLarge', 'request body larger than 1 MB', 413);
    chunks.push(c as Buffer);
  }
  const raw = Buffer.concat(chunks);
  return (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
}

const sameDimensions = (a: Record<string, string>, b: Record<string, string>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);

export async function startCloudWatch(options: { port?: number } = {}): Promise<LabCloudWatch> {
  const points: Datapoint[] = [];

  const operations: Record<string, (input: unknown) => unknown> = {
    PutMetricData(raw) {
      const input = parse(PutMetricDataInput, raw);
      for (const d of input.MetricData) {
        const dimensions = Object.fromEntries((d.Dimensions ?? []).map((x) => [x.Name, x.Value]));
        const timestamp = d.Timestamp !== undefined ? Math.round(d.Timestamp * 1000) : Date.now();
        const values = d.Values ?? (d.Value !== undefined ? [d.Value] : d.StatisticValues ? [d.StatisticValues.Sum] : []);
        if (values.length === 0) throw new CloudWatchError('MissingParameter', `${d.MetricName}: one of Value, Values or StatisticValues is required`);
        for (const value of values) points.push({ namespace: input.Namespace, metricName: d.MetricName, dimensions, timestamp, value, unit: d.Unit });
      }
      return {};
    },
    ListMetrics(raw) {
      const input = parse(ListMetricsInput, raw);
      const seen = new Map<string, { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: string }[] }>();
      for (const p of points) {
        if (input.Namespace && p.namespace !== input.Namespace) continue;
        if (input.MetricName && p.metricName !== input.MetricName) continue;
        if (input.Dimensions && !input.Dimensions.every((d) => d.Name in p.dimensions && (d.Value === undefined || p.dimensions[d.Name] === d.Value))) continue;
        const key = JSON.stringify([p.namespace, p.metricName, Object.entries(p.dimensions).sort()]);
        seen.set(key, {
          Namespace: p.namespace,
          MetricName: p.metricName,
          Dimensions: Object.entries(p.dimensions).map(([Name, Value]) => ({ Name, Value })),
        });
      }
      return { Metrics: [...seen.values()] };
    },
    GetMetricStatistics(raw) {
      const input = parse(GetMetricStatisticsInput, raw);
      const dims = Object.fromEntries((input.Dimensions ?? []).map((x) => [x.Name, x.Value]));
      const start = input.StartTime * 1000;
      const end = input.EndTime * 1000;
      const buckets = new Map<number, number[]>();
      for (const p of points) {
        if (p.namespace !== input.Namespace || p.metricName !== input.MetricName || !sameDimensions(dims, p.dimensions)) continue;
        if (p.timestamp < start || p.timestamp >= end) continue;
        const at = start + Math.floor((p.timestamp - start) / (input.Period * 1000)) * input.Period * 1000;
        buckets.set(at, [...(buckets.get(at) ?? []), p.value]);
      }
      const stats = input.Statistics ?? ['Maximum'];
      const Datapoints = [...buckets.entries()]
        .sort(([a], [b]) => a - b)
        .map(([at, values]) => {
          const sum = values.reduce((x, y) => x + y, 0);
          const all: Record<string, number> = {
            SampleCount: values.length,
            Sum: sum,
            Average: sum / values.length,
            Minimum: Math.min(...values),
            Maximum: Math.max(...values),
          };
          return { Timestamp: at / 1000, ...Object.fromEntries(stats.map((s) => [s, all[s]])), Unit: input.Unit ?? 'Count' };
        });
      return { Label: input.MetricName, Datapoints };
    },
  };

  const reply = (res: ServerResponse, status: number, body: unknown, error?: { shape: string; code: string }) => {
    const text = JSON.stringify(body);
    const headers: Record<string, string | number> = {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': globalThis.crypto.randomUUID(),
    };
    if (error) {
      headers['x-amzn-errortype'] = error.shape;
      headers['x-amzn-query-error'] = `${error.code};${status >= 500 ? 'Receiver' : 'Sender'}`;
    }
    res.writeHead(status, headers);
    res.end(text);
  };

  const server = createServer(async (req, res) => {
    try {
      const target = String(req.headers['x-amz-target'] ?? '');
      const [prefix, operation] = target.split('.');
      const handler = operation ? operations[operation] : undefined;
      if (req.method !== 'POST' || prefix !== CLOUDWATCH_TARGET_PREFIX || !handler) {
        throw new CloudWatchError('InvalidAction', `${target || '(no X-Amz-Target)'} is not implemented by the lab`);
      }
      const text = await readBody(req);
      reply(res, 200, handler(text ? JSON.parse(text) : {}) ?? {});
    } catch (err) {
      const e =
        err instanceof CloudWatchError
          ? err
          : err instanceof SyntaxError
            ? new CloudWatchError('SerializationException', err.message)
            : new CloudWatchError('InternalServiceError', (err as Error).message, 500);
      reply(res, e.statusCode, { __type: `com.amazonaws.cloudwatch#${e.name}`, message: e.message }, { shape: e.name, code: e.code });
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    datapoints: (filter = {}) =>
      points.filter(
        (p) =>
          (!filter.namespace || p.namespace === filter.namespace) &&
          (!filter.metricName || p.metricName === filter.metricName) &&
          (!filter.dimensions || sameDimensions(filter.dimensions, p.dimensions)),
      ),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
