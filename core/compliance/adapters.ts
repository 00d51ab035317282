/**
 * AWS adapters of the compliance ports: S3 (plan, batches, report), SSM
 * (inventory commands, Compliance items), CloudWatch (metrics); alerts go through core/alerts.ts.
 * Endpoints come from the SDK's `AWS_ENDPOINT_URL_*`, so the lab needs no code here.
 */
import { PutMetricDataCommand, type CloudWatchClient, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  ListCommandInvocationsCommand,
  PutComplianceItemsCommand,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { z } from 'zod';
import { HostUnreachableError } from '../host-steps/errors';
import { S3CommandOutputReader } from '../host-steps/s3-command-output';
import { deployedVersion, SsmCommandRunner, type DocumentVersions } from '../host-steps/ssm-command-runner';
import { STDOUT_TAIL_BYTES } from '../host-steps/poll-step';
import type { Invocation } from '../host-steps/ports';
import { severityOf } from './evaluate';
import type { FleetCounts, HostCompliance } from './model';
import type {
  BatchCommandRequest,
  ComplianceItems,
  ComplianceMetrics,
  InventoryCommands,
  InvocationStatus,
  JsonObjects,
} from './ports';
import { OUTPUT_KEY_PREFIX } from './check';

const errorName = (err: unknown): string | undefined => (err && typeof err === 'object' && 'name' in err ? String(err.name) : undefined);

export class S3JsonObjects implements JsonObjects {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async get<S extends z.ZodType>(key: string, schema: S): Promise<z.output<S> | null> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const text = (await out.Body?.transformToString('utf8')) ?? '';
      return schema.parse(JSON.parse(text));
    } catch (err) {
      if (errorName(err) === 'NoSuchKey' || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return null;
      throw err;
    }
  }

  async put(key: string, value: unknown): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: JSON.stringify(value, null, 1), ContentType: 'application/json' }),
    );
  }
}

export class SsmInventoryCommands implements InventoryCommands {
  private readonly runner: SsmCommandRunner;
  private readonly output: S3CommandOutputReader;

  /** `sendClient` without SDK retries: SendCommand has no idempotency token (see lambdas/shared/clients.ts). */
  constructor(
    private readonly ssm: SSMClient,
    private readonly sendClient: SSMClient,
    s3: S3Client,
    private readonly outputBucket: string,
    /** What SendCommand names (compliance-send's DOCUMENT_VERSIONS); collect only reads. */
    private readonly documentVersions: DocumentVersions = {},
  ) {
    this.runner = new SsmCommandRunner(ssm, sendClient);
    this.output = new S3CommandOutputReader(s3);
  }

  async pingStatus(instanceIds: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < instanceIds.length; i += 50) {
      let NextToken: string | undefined;
      do {
        const page = await this.ssm.send(
          new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: instanceIds.slice(i, i + 50) }], MaxResults: 50, NextToken }),
        );
        for (const info of page.InstanceInformationList ?? []) if (info.InstanceId) out.set(info.InstanceId, info.PingStatus ?? 'Unknown');
        NextToken = page.NextToken;
      } while (NextToken);
    }
    return out;
  }

  async send(req: BatchCommandRequest): Promise<string> {
    try {
      const out = await this.sendClient.send(
        new SendCommandCommand({
          DocumentName: req.documentName,
          DocumentVersion: deployedVersion(this.documentVersions, req.documentName),
          InstanceIds: req.instanceIds,
          Parameters: { ComposeDir: [req.composeDir] },
          Comment: req.comment,
          TimeoutSeconds: req.deliveryTimeoutSeconds,
          MaxConcurrency: req.maxConcurrency,
          MaxErrors: req.maxErrors,
          OutputS3BucketName: req.outputBucket,
          OutputS3KeyPrefix: req.outputKeyPrefix,
        }),
      );
      if (!out.Command?.CommandId) throw new Error('SendCommand returned no CommandId');
      return out.Command.CommandId;
    } catch (err) {
      if (errorName(err) === 'InvalidInstanceId') throw new HostUnreachableError(req.instanceIds.join(','), err);
      throw err;
    }
  }

  async findByComment(q: { instanceId: string; comment: string; documentName: string; invokedAfter: number }): Promise<string | null> {
    try {
      return (await this.runner.findByComment(q))?.commandId ?? null;
    } catch (err) {
      if (err instanceof HostUnreachableError) return null;
      throw err;
    }
  }

  async listInvocations(commandId: string): Promise<InvocationStatus[]> {
    const out: InvocationStatus[] = [];
    let NextToken: string | undefined;
    do {
      const page = await this.ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, MaxResults: 50, NextToken }));
      for (const inv of page.CommandInvocations ?? []) {
        if (inv.InstanceId) out.push({ instanceId: inv.InstanceId, status: inv.Status ?? 'Pending', statusDetails: inv.StatusDetails ?? '' });
      }
      NextToken = page.NextToken;
    } while (NextToken);
    return out;
  }

  getInvocation(ref: { commandId: string; instanceId: string }): Promise<Invocation | null> {
    return this.runner.getInvocation(ref);
  }

  readStdoutTail(ref: { commandId: string; instanceId: string; url: string | null }): Promise<string | null> {
    return this.output.readStdoutTail({
      bucket: this.outputBucket,
      prefix: `${OUTPUT_KEY_PREFIX}/${ref.commandId}/${ref.instanceId}/`,
      url: ref.url,
      maxBytes: STDOUT_TAIL_BYTES,
    });
  }

  async cancel(commandId: string): Promise<void> {
    // every invocation of the command that is still pending or running
    await this.ssm.send(new CancelCommandCommand({ CommandId: commandId })).catch(() => undefined);
  }
}

export const COMPLIANCE_TYPE = 'Custom:FleetwaveVersionParity';

/** The SSM Compliance item of one host: UNKNOWN is reported NON_COMPLIANT, with the cause as its reason. */
export function complianceItemOf(h: HostCompliance) {
  const reasons = h.state === 'UNKNOWN' ? [`unknown:${h.unknownCause}`] : h.reasons;
  const title =
    h.state === 'COMPLIANT'
      ? `${h.hostId}: all services on ${h.runningVersion ?? '?'}`
      : `${h.hostId}: ${h.state === 'UNKNOWN' ? 'UNKNOWN' : 'drift'} (${reasons.join(', ')})`;
  return {
    Id: 'version-parity',
    Title: title.slice(0, 500),
    Severity: severityOf(h),
    Status: h.state === 'COMPLIANT' ? ('COMPLIANT' as const) : ('NON_COMPLIANT' as const),
    Details: {
      State: h.state,
      Reasons: reasons.join(',') || 'none',
      HostId: h.hostId,
      Fleet: h.fleetId,
      DesiredVersion: h.desiredVersion ?? 'none',
      RunningVersion: h.runningVersion ?? 'none',
    },
  };
}

export class SsmComplianceItems implements ComplianceItems {
  constructor(private readonly ssm: SSMClient) {}

  async put(h: HostCompliance, execution: { checkId: string; at: number }): Promise<void> {
    await this.ssm.send(
      new PutComplianceItemsCommand({
        ResourceId: h.instanceId,
        ResourceType: 'ManagedInstance',
        ComplianceType: COMPLIANCE_TYPE,
        ExecutionSummary: { ExecutionTime: new Date(execution.at), ExecutionId: execution.checkId, ExecutionType: 'Command' },
        Items: [complianceItemOf(h)],
        // COMPLETE: the one item replaces whatever an earlier check reported
        UploadType: 'COMPLETE',
      }),
    );
  }
}

export const METRIC_NAMESPACE = 'Fleetwave';
export const QUARANTINED_HOSTS_METRIC = 'QuarantinedHosts';

/**
 * Per fleet (dimension `Fleet`): `NonCompliantHosts` (UNKNOWN included: an
 * unreachable host is drift until proven otherwise), `UnknownHosts` (the
 * UNKNOWN part alone), `CompliantHosts` and `QuarantinedHosts` (hosts left
 * quarantined by a failed restore, waiting for an operator's unlock).
 */
export function metricDataOf(fleets: FleetCounts[], at: number): MetricDatum[] {
  return fleets.flatMap((f) => {
    const common = { Dimensions: [{ Name: 'Fleet', Value: f.fleetId }], Timestamp: new Date(at), Unit: 'Count' as const };
    return [
      { MetricName: 'NonCompliantHosts', Value: f.nonCompliant, ...common },
      { MetricName: 'UnknownHosts', Value: f.unknown, ...common },
      { MetricName: 'CompliantHosts', Value: f.compliant, ...common },
      { MetricName: QUARANTINED_HOSTS_METRIC, Value: f.quarantined, ...common },
    ];
  });
}

export class CloudWatchComplianceMetrics implements ComplianceMetrics {
  constructor(private readonly cloudwatch: CloudWatchClient) {}

  async publish(fleets: FleetCounts[], at: number): Promise<void> {
    const data = metricDataOf(fleets, at);
    // PutMetricData takes at most 1000 datums per request
    for (let i = 0; i < data.length; i += 900) {
      await this.cloudwatch.send(new PutMetricDataCommand({ Namespace: METRIC_NAMESPACE, MetricData: data.slice(i, i + 900) }));
    }
  }
}
