/**
 * The lab's CloudWatch endpoint against the real @aws-sdk/client-cloudwatch:
 * whatever protocol the SDK speaks (JSON 1.0, query-compatible), and its
 * gzip request compression for large PutMetricData bodies.
 */
import { CloudWatchClient, GetMetricStatisticsCommand, ListMetricsCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudWatch, type LabCloudWatch } from '../../../lab/cloudwatch';

let cw: LabCloudWatch;
let client: CloudWatchClient;

beforeAll(async () => {
  cw = await startCloudWatch();
  client = new CloudWatchClient({ region: 'us-east-1', endpoint: cw.endpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
});
afterAll(async () => {
  client?.destroy();
  await cw?.close();
});

describe('lab CloudWatch', () => {
  it('keeps the datapoints PutMetricData sends, with dimensions and timestamp', async () => {
    const at = new Date('2030-01-01T10:00:00Z');
    await client.send(
      new PutMetricDataCommand({
        Namespace: 'Fleetwave',
        MetricData: [{ MetricName: 'NonCompliantHosts', Dimensions: [{ Name: 'Fleet', Value: 'acme' }], Value: 3, Unit: 'Count', Timestamp: at }],
      }),
    );
    expect(cw.datapoints({ namespace: 'Fleetwave', dimensions: { Fleet: 'acme' } })).toEqual([
      { namespace: 'Fleetwave', metricName: 'NonCompliantHosts', dimensions: { Fleet: 'acme' }, timestamp: at.getTime(), value: 3, unit: 'Count' },
    ]);
    const stats = await client.send(
      new GetMetricStatisticsCommand({
        Namespace: 'Fleetwave',
        MetricName: 'NonCompliantHosts',
        Dimensions: [{ Name: 'Fleet', Value: 'acme' }],
        StartTime: new Date(at.getTime() - 60_000),
        EndTime: new Date(at.getTime() + 60_000),
        Period: 300,
        Statistics: ['Maximum'],
      }),
    );
    expect(stats.Datapoints?.map((d) => d.Maximum)).toEqual([3]);
    const listed = await client.send(new ListMetricsCommand({ Namespace: 'Fleetwave' }));
    expect(listed.Metrics).toEqual([{ Namespace: 'Fleetwave', MetricName: 'NonCompliantHosts', Dimensions: [{ Name: 'Fleet', Value: 'acme' }] }]);
  });

  it('accepts a gzip-compressed request of a thousand datapoints', async () => {
    const MetricData = Array.from({ length: 1000 }, (_, i) => ({ MetricName: 'Bulk', Dimensions: [{ Name: 'Fleet', Value: `fleet-${i}` }], Value: i }));
    // what went over the wire, after the SDK's own request compression
    const encodings: (string | undefined)[] = [];
    const command = new PutMetricDataCommand({ Namespace: 'Bulk', MetricData });
    command.middlewareStack.add(
      (next) => async (args) => {
        encodings.push((args.request as { headers: Record<string, string> }).headers['content-encoding']);
        return next(args);
      },
      { step: 'finalizeRequest', name: 'recordContentEncoding' },
    );
    await client.send(command);
    expect(encodings).toEqual(['gzip']);
    const got = cw.datapoints({ namespace: 'Bulk' });
    expect(got).toHaveLength(1000);
    expect(got.reduce((n, p) => n + p.value, 0)).toBe((999 * 1000) / 2);
  });

  it('refuses the reserved AWS/ namespace with an error the SDK names', async () => {
    await expect(client.send(new PutMetricDataCommand({ Namespace: 'AWS/EC2', MetricData: [{ MetricName: 'X', Value: 1 }] }))).rejects.toMatchObject({
      name: 'InvalidParameterValueException',
      $metadata: { httpStatusCode: 400 },
    });
  });
});
