/** `CommandRunner` over SSM Run Command (AWS SDK v3). */
import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandsCommand,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { DocumentVersionUnknownError, HostUnreachableError } from './errors';
import type { CommandRunner, CommandSummary, Invocation, SendCommandRequest } from './ports';

/** Document name → the version the stack deployed (DOCUMENT_VERSIONS, lib/host-documents.ts). */
export type DocumentVersions = Readonly<Record<string, string>>;

/**
 * The version SendCommand names for a document: the one the stack deployed.
 * Never `$DEFAULT`, which anyone allowed UpdateDocumentDefaultVersion can
 * point at other content (run-command-version.html: $DEFAULT, $LATEST or a number).
 * @throws DocumentVersionUnknownError
 */
export function deployedVersion(versions: DocumentVersions, documentName: string): string {
  const version = versions[documentName];
  if (!version) throw new DocumentVersionUnknownError(documentName);
  return version;
}

const errorName = (err: unknown): string | undefined =>
  err && typeof err === 'object' && 'name' in err ? String((err as { name: unknown }).name) : undefined;

export class SsmCommandRunner implements CommandRunner {
  /**
   * `sendClient` may be a client without SDK retries: SendCommand takes no
   * idempotency token, so only the caller's look-up-then-send is safe to repeat.
   * `documentVersions`: what every SendCommand names (a runner that only
   * polls needs none; one that sends a document it lacks sends nothing).
   */
  constructor(
    private readonly ssm: SSMClient,
    private readonly sendClient: SSMClient = ssm,
    private readonly documentVersions: DocumentVersions = {},
  ) {}

  async send(req: SendCommandRequest): Promise<CommandSummary> {
    try {
      const out = await this.sendClient.send(
        new SendCommandCommand({
          DocumentName: req.documentName,
          DocumentVersion: deployedVersion(this.documentVersions, req.documentName),
          InstanceIds: [req.instanceId],
          Parameters: req.parameters,
          Comment: req.comment,
          TimeoutSeconds: req.deliveryTimeoutSeconds,
          OutputS3BucketName: req.outputBucket,
          OutputS3KeyPrefix: req.outputKeyPrefix,
        }),
      );
      const command = out.Command;
      if (!command?.CommandId) throw new Error('SendCommand returned no CommandId');
      return {
        commandId: command.CommandId,
        instanceId: req.instanceId,
        documentName: command.DocumentName ?? req.documentName,
        comment: command.Comment ?? req.comment,
        requestedAt: command.RequestedDateTime?.getTime() ?? Date.now(),
      };
    } catch (err) {
      if (errorName(err) === 'InvalidInstanceId') throw new HostUnreachableError(req.instanceId, err);
      throw err;
    }
  }

  async findByComment(q: {
    instanceId: string;
    comment: string;
    documentName: string;
    invokedAfter: number;
  }): Promise<CommandSummary | null> {
    let nextToken: string | undefined;
    let best: CommandSummary | null = null;
    try {
      do {
        const page = await this.ssm.send(
          // Not filtered by InstanceId: SSM then omits a command that has not reached the node yet
          // ("can't specify a managed node ID ... with Status = Pending", ListCommands API reference),
          // and a retried task would send a second one. Document and time narrow the pages instead.
          new ListCommandsCommand({
            Filters: [
              { key: 'DocumentName', value: q.documentName },
              { key: 'InvokedAfter', value: new Date(q.invokedAfter).toISOString() },
            ],
            MaxResults: 50,
            NextToken: nextToken,
          }),
        );
        for (const c of page.Commands ?? []) {
          if (c.Comment !== q.comment || c.DocumentName !== q.documentName || !c.CommandId) continue;
          if (c.InstanceIds && !c.InstanceIds.includes(q.instanceId)) continue;
          const requestedAt = c.RequestedDateTime?.getTime() ?? 0;
          if (!best || requestedAt > best.requestedAt) {
            best = { commandId: c.CommandId, instanceId: q.instanceId, documentName: c.DocumentName, comment: c.Comment, requestedAt };
          }
        }
        nextToken = page.NextToken;
      } while (nextToken);
    } catch (err) {
      if (errorName(err) === 'InvalidInstanceId') throw new HostUnreachableError(q.instanceId, err);
      throw err;
    }
    return best;
  }

  async getInvocation(ref: { commandId: string; instanceId: string }): Promise<Invocation | null> {
    try {
      const out = await this.ssm.send(new GetCommandInvocationCommand({ CommandId: ref.commandId, InstanceId: ref.instanceId }));
      return {
        status: out.Status ?? 'Pending',
        statusDetails: out.StatusDetails ?? '',
        responseCode: out.ResponseCode ?? -1,
        stdout: out.StandardOutputContent ?? '',
        stdoutUrl: out.StandardOutputUrl || null,
      };
    } catch (err) {
      // SSM answers this for a short while after SendCommand: not a failure.
      if (errorName(err) === 'InvocationDoesNotExist') return null;
      throw err;
    }
  }

  /** DescribeInstanceInformation answers each managed node's AgentVersion (the agent installed on it). */
  async agentVersion(instanceId: string): Promise<string | null> {
    const out = await this.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [instanceId] }] }));
    const info = out.InstanceInformationList?.find((i) => i.InstanceId === instanceId);
    return info ? (info.AgentVersion ?? '') : null;
  }

  async cancel(ref: { commandId: string; instanceId: string }): Promise<void> {
    try {
      await this.ssm.send(new CancelCommandCommand({ CommandId: ref.commandId, InstanceIds: [ref.instanceId] }));
    } catch (err) {
      // Already finished or unknown: cancelling is best effort by contract.
      if (['InvalidCommandId', 'InvalidInstanceId', 'DuplicateInstanceId'].includes(errorName(err) ?? '')) return;
      throw err;
    }
  }
}
