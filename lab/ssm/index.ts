/**
 * The lab's SSM endpoint (AWS JSON 1.1, target prefix `AmazonSSM`), so the
 * Lambda tasks and the CLI use the ordinary `@aws-sdk/client-ssm` with only
 * `AWS_ENDPOINT_URL_SSM` set. Operations: SendCommand, GetCommandInvocation,
 * ListCommands, ListCommandInvocations, CancelCommand,
 * DescribeInstanceInformation, PutComplianceItems, ListComplianceItems,
 * ListResourceComplianceSummaries.
 *
 * Fault hooks: `setOnline(id, false)` (agent offline: PingStatus
 * ConnectionLost, new commands end TimedOut/DeliveryTimedOut),
 * `setAgentState(id, 'undeliverable')` (Failed/Undeliverable), `throttle(n)`
 * (the next n requests fail with ThrottlingException).
 */
import { z } from 'zod';
import { AwsServiceError, epochSeconds, startAwsJsonServer } from '../aws-json';
import {
  ComplianceStore,
  ListComplianceItemsInput,
  ListResourceComplianceSummariesInput,
  PutComplianceItemsInput,
} from './compliance';
import {
  combinedPluginOutput,
  SsmError,
  SsmService,
  type AgentState,
  type CommandState,
  type InvocationState,
  type RegisterInstanceInput,
  type SsmServiceOptions,
} from './service';

export { InvalidDocumentContentError, InvalidParametersError, parseCommandDocument } from './document';
export { STOPPED_PREEMPTIVELY_EXIT_CODE } from './agent';
export {
  AGENT_COMMAND_WORKERS,
  PLUGIN_OUTPUT_LIMIT,
  STDERR_INLINE_LIMIT,
  STDOUT_INLINE_LIMIT,
  type AgentState,
  type RegisterInstanceInput,
} from './service';

export interface StartSsmOptions {
  port?: number;
  /** Document name → schema 2.2 content (JSON/YAML text or the parsed object). */
  documents: Map<string, string | object>;
  /** Where `OutputS3BucketName` output goes (the lab's s3rver). */
  s3?: { endpoint: string };
  region?: string;
  options?: {
    /** InvocationDoesNotExist window after SendCommand. Default 300 ms. */
    invocationVisibilityDelayMs?: number;
    /** Lab cap on the delivery timeout (TimeoutSeconds). Default 3000 ms. */
    deliveryTimeoutMs?: number;
    /** Concurrent documents per agent. Default 5. */
    agentWorkers?: number;
    log?: (message: string) => void;
  };
}

export interface LabSsm {
  /** `http://127.0.0.1:<port>`; use as `AWS_ENDPOINT_URL_SSM`. */
  endpoint: string;
  registerInstance(input: RegisterInstanceInput): void;
  setOnline(instanceId: string, online: boolean): void;
  setAgentState(instanceId: string, state: AgentState): void;
  registerDocument(name: string, content: string | object): void;
  /** The next `n` requests fail with ThrottlingException. */
  throttle(n: number): void;
  /** Every SendCommand the endpoint accepted, oldest first (for assertions). */
  sentCommands(): { commandId: string; documentName: string; instanceIds: string[]; parameters: Record<string, string[]> }[];
  /** Kills running scripts and stops the endpoint. */
  close(): Promise<void>;
}

// ---- request validation (zod at the edge; failures are ValidationException, as SSM answers) ----

const INSTANCE_ID = /^(i-[0-9a-f]{8}([0-9a-f]{9})?|mi-[0-9a-f]{17})$/;
const COMMAND_ID = z.string().length(36);

const SendCommandInput = z.object({
  DocumentName: z.string().regex(/^[a-zA-Z0-9_\-.:/]{3,128}$/),
  DocumentVersion: z.string().optional(),
  DocumentHash: z.string().optional(),
  InstanceIds: z.array(z.string()).max(50).optional(),
  Targets: z.array(z.object({ Key: z.string(), Values: z.array(z.string()) })).optional(),
  Parameters: z.record(z.string(), z.array(z.string())).optional(),
  Comment: z.string().max(100).optional(),
  TimeoutSeconds: z.number().int().min(30).max(2_592_000).optional(),
  OutputS3Region: z.string().optional(),
  OutputS3BucketName: z.string().min(3).max(63).optional(),
  OutputS3KeyPrefix: z.string().max(500).optional(),
  MaxConcurrency: z.string().regex(/^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$/).optional(),
  MaxErrors: z.string().regex(/^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$/).optional(),
  ServiceRoleArn: z.string().optional(),
  NotificationConfig: z.record(z.string(), z.unknown()).optional(),
  CloudWatchOutputConfig: z.object({ CloudWatchLogGroupName: z.string().optional(), CloudWatchOutputEnabled: z.boolean().optional() }).optional(),
  AlarmConfiguration: z.unknown().optional(),
});

const GetCommandInvocationInput = z.object({
  CommandId: COMMAND_ID,
  InstanceId: z.string().min(1),
  PluginName: z.string().min(4).optional(),
});

const CommandFilter = z.object({ key: z.string(), value: z.string().min(1) });
const ListCommandsInput = z.object({
  CommandId: COMMAND_ID.optional(),
  InstanceId: z.string().optional(),
  MaxResults: z.number().int().min(1).max(50).optional(),
  NextToken: z.string().optional(),
  Filters: z.array(CommandFilter).min(1).max(5).optional(),
});
const ListCommandInvocationsInput = ListCommandsInput.extend({ Details: z.boolean().optional() });

const CancelCommandInput = z.object({ CommandId: COMMAND_ID, InstanceIds: z.array(z.string()).optional() });

const DescribeInstanceInformationInput = z.object({
  InstanceInformationFilterList: z.array(z.object({ key: z.string(), valueSet: z.array(z.string()).min(1) })).optional(),
  Filters: z.array(z.object({ Key: z.string(), Values: z.array(z.string()).min(1) })).optional(),
  MaxResults: z.number().int().min(5).max(50).optional(),
  NextToken: z.string().optional(),
});

function parse<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const result = schema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `Value at '${i.path.join('.')}' failed to satisfy constraint: ${i.message}`);
    throw new AwsServiceError('ValidationException', `${issues.length} validation error(s) detected: ${issues.join('; ')}`);
  }
  return result.data;
}

/** Opaque pagination tokens: the offset, base64url. */
function page<T>(items: T[], maxResults: number, nextToken: string | undefined): { items: T[]; nextToken?: string } {
  let start = 0;
  if (nextToken !== undefined) {
    start = Number(Buffer.from(nextToken, 'base64url').toString('utf8'));
    if (!Number.isInteger(start) || start < 0) throw new AwsServiceError('InvalidNextToken', 'The specified token isn’t valid.');
  }
  const slice = items.slice(start, start + maxResults);
  const next = start + maxResults < items.length ? Buffer.from(String(start + maxResults)).toString('base64url') : undefined;
  return next ? { items: slice, nextToken: next } : { items: slice };
}

const COMMAND_STATUSES = ['Pending', 'InProgress', 'Success', 'Cancelled', 'Failed', 'TimedOut', 'Cancelling'];

/** ListCommands / ListCommandInvocations filters, per the CommandFilter reference. */
function filterPredicate(
  filters: z.infer<typeof CommandFilter>[] | undefined,
): (c: { requestedAt: number; status: string; documentName: string; terminal: boolean }) => boolean {
  const checks = (filters ?? []).map((f) => {
    switch (f.key) {
      case 'InvokedAfter':
      case 'InvokedBefore': {
        const at = Date.parse(f.value);
        if (Number.isNaN(at)) throw new AwsServiceError('InvalidFilterValue', `${f.value} is not a valid ISO 8601 date-time for ${f.key}.`);
        return f.key === 'InvokedAfter' ? (c: { requestedAt: number }) => c.requestedAt >= at : (c: { requestedAt: number }) => c.requestedAt <= at;
      }
      case 'Status':
        if (!COMMAND_STATUSES.includes(f.value)) throw new AwsServiceError('InvalidFilterValue', `${f.value} is not a valid Status.`);
        return (c: { status: string }) => c.status === f.value;
      case 'ExecutionStage':
        if (f.value !== 'Executing' && f.value !== 'Complete') throw new AwsServiceError('InvalidFilterValue', `${f.value} is not a valid ExecutionStage.`);
        return (c: { terminal: boolean }) => (f.value === 'Complete' ? c.terminal : !c.terminal);
      case 'DocumentName':
        return (c: { documentName: string }) => c.documentName === f.value;
      default:
        throw new AwsServiceError('InvalidFilterKey', `${f.key} is not a valid filter key.`);
    }
  });
  return (c) => checks.every((check) => check(c as never));
}

const TERMINAL = new Set(['Success', 'Cancelled', 'TimedOut', 'Failed']);

export async function startSsm(options: StartSsmOptions): Promise<LabSsm> {
  const serviceOptions: SsmServiceOptions = {
    documents: options.documents,
    ...(options.s3 ? { s3: options.s3 } : {}),
    ...(options.region ? { region: options.region } : {}),
    ...options.options,
  };
  const service = new SsmService(serviceOptions);
  const compliance = new ComplianceStore();
  let throttled = 0;

  const commandView = (command: CommandState) => {
    const status = service.commandStatus(command);
    return {
      CommandId: command.commandId,
      DocumentName: command.documentName,
      DocumentVersion: command.documentVersion,
      Comment: command.comment,
      ExpiresAfter: epochSeconds(command.expiresAt),
      Parameters: command.parameters,
      InstanceIds: command.instanceIds,
      Targets: [],
      RequestedDateTime: epochSeconds(command.requestedAt),
      Status: status.status,
      StatusDetails: status.details,
      OutputS3Region: command.outputS3Region,
      OutputS3BucketName: command.outputS3BucketName,
      OutputS3KeyPrefix: command.outputS3KeyPrefix,
      MaxConcurrency: command.maxConcurrency,
      MaxErrors: command.maxErrors,
      TargetCount: command.instanceIds.length,
      CompletedCount: status.completed,
      ErrorCount: status.errors,
      DeliveryTimedOutCount: status.deliveryTimedOut,
      ServiceRole: command.serviceRoleArn,
      NotificationConfig: command.notificationConfig,
      CloudWatchOutputConfig: command.cloudWatchOutputConfig,
      TimeoutSeconds: command.deliveryTimeoutSeconds,
    };
  };

  const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());

  const invocationView = (command: CommandState, invocation: InvocationState, details: boolean) => {
    const first = invocation.plugins[0];
    const view: Record<string, unknown> = {
      CommandId: command.commandId,
      InstanceId: invocation.instanceId,
      InstanceName: '',
      Comment: command.comment,
      DocumentName: command.documentName,
      DocumentVersion: command.documentVersion,
      RequestedDateTime: epochSeconds(command.requestedAt),
      Status: invocation.status,
      StatusDetails: invocation.statusDetails,
      TraceOutput: '',
      StandardOutputUrl: first?.stdoutUrl ?? '',
      StandardErrorUrl: first?.stderrUrl ?? '',
      ServiceRole: command.serviceRoleArn,
      NotificationConfig: command.notificationConfig,
      CloudWatchOutputConfig: command.cloudWatchOutputConfig,
      CommandPlugins: [],
    };
    if (details) {
      view.CommandPlugins = invocation.plugins.map((p) => ({
        Name: p.name,
        Status: p.status,
        StatusDetails: p.statusDetails,
        ResponseCode: p.responseCode,
        ...(p.startedAt !== null ? { ResponseStartDateTime: epochSeconds(p.startedAt) } : {}),
        ...(p.endedAt !== null ? { ResponseFinishDateTime: epochSeconds(p.endedAt) } : {}),
        Output: combinedPluginOutput(p.stdout, p.stderr),
        StandardOutputUrl: p.stdoutUrl,
        StandardErrorUrl: p.stderrUrl,
        OutputS3Region: command.outputS3Region,
        OutputS3BucketName: command.outputS3BucketName,
        OutputS3KeyPrefix: command.outputS3BucketName ? p.outputS3KeyPrefix : '',
      }));
    }
    return view;
  };

  const invocationsFor = (commandId: string | undefined, instanceId: string | undefined) => {
    const out: { command: CommandState; invocation: InvocationState }[] = [];
    for (const command of service.commands.values()) {
      if (commandId !== undefined && command.commandId !== commandId) continue;
      for (const invocation of command.invocations.values()) {
        if (instanceId !== undefined && invocation.instanceId !== instanceId) continue;
        // Invocations appear a moment after SendCommand, as on AWS.
        if (!service.isVisible(invocation)) continue;
        out.push({ command, invocation });
      }
    }
    // Newest first, as the service lists them.
    return out.sort((a, b) => b.command.requestedAt - a.command.requestedAt);
  };

  const wrap =
    <T>(fn: (input: unknown) => T) =>
    (input: unknown): T => {
      try {
        return fn(input);
      } catch (err) {
        if (err instanceof SsmError) throw new AwsServiceError(err.name, err.message);
        throw err;
      }
    };

  const server = await startAwsJsonServer({
    targetPrefix: 'AmazonSSM',
    port: options.port,
    onRequest: () => {
      if (throttled > 0) {
        throttled -= 1;
        throw new AwsServiceError('ThrottlingException', 'Rate exceeded');
      }
    },
    operations: {
      SendCommand: wrap((raw) => {
        const input = parse(SendCommandInput, raw);
        let instanceIds = input.InstanceIds ?? [];
        if (input.Targets) {
          const byId = input.Targets.find((t) => t.Key === 'InstanceIds');
          if (!byId || input.Targets.length > 1) {
            throw new AwsServiceError('InvalidTarget', 'The lab supports only Targets with Key=InstanceIds.');
          }
          instanceIds = [...instanceIds, ...byId.Values];
        }
        if (instanceIds.length === 0) throw new AwsServiceError('ValidationException', 'Either InstanceIds or Targets must be specified.');
        const malformed = instanceIds.filter((id) => !INSTANCE_ID.test(id));
        if (malformed.length > 0) throw new AwsServiceError('InvalidInstanceId', `Instances [${malformed.join(', ')}] are not valid instance ids.`);
        if (input.DocumentVersion !== undefined && !['$DEFAULT', '$LATEST', '1'].includes(input.DocumentVersion)) {
          throw new AwsServiceError('InvalidDocumentVersion', `Document version ${input.DocumentVersion} does not exist.`);
        }
        const command = service.sendCommand({ ...input, InstanceIds: instanceIds } as Parameters<SsmService['sendCommand']>[0]);
        return { Command: commandView(command) };
      }),
      GetCommandInvocation: wrap((raw) => {
        const input = parse(GetCommandInvocationInput, raw);
        const command = service.commands.get(input.CommandId);
        const invocation = command?.invocations.get(input.InstanceId);
        if (!command || !invocation || !service.isVisible(invocation)) {
          throw new AwsServiceError('InvocationDoesNotExist', 'The command ID and managed node ID you specified did not match any invocations.');
        }
        // "If the document contains more than one step, you must specify the name of the step."
        let plugin = invocation.plugins[0];
        if (input.PluginName !== undefined) {
          plugin = invocation.plugins.find((p) => p.name === input.PluginName);
          if (!plugin) throw new AwsServiceError('InvalidPluginName', `Plugin ${input.PluginName} is not in the document.`);
        } else if (invocation.plugins.length > 1) {
          throw new AwsServiceError('InvalidPluginName', 'The document has more than one step: PluginName is required.');
        }
        if (!plugin) throw new AwsServiceError('InvalidPluginName', 'The document has no steps.');
        const elapsed = plugin.startedAt === null ? '' : `PT${(((plugin.endedAt ?? Date.now()) - plugin.startedAt) / 1000).toFixed(3)}S`;
        return {
          CommandId: command.commandId,
          InstanceId: invocation.instanceId,
          Comment: command.comment,
          DocumentName: command.documentName,
          DocumentVersion: command.documentVersion,
          PluginName: plugin.name,
          ResponseCode: plugin.responseCode,
          ExecutionStartDateTime: iso(plugin.startedAt),
          ExecutionElapsedTime: elapsed,
          ExecutionEndDateTime: iso(plugin.endedAt),
          Status: plugin.status,
          StatusDetails: plugin.statusDetails,
          StandardOutputContent: plugin.stdout,
          StandardOutputUrl: plugin.stdoutUrl,
          StandardErrorContent: plugin.stderr,
          StandardErrorUrl: plugin.stderrUrl,
          CloudWatchOutputConfig: command.cloudWatchOutputConfig,
        };
      }),
      ListCommands: wrap((raw) => {
        const input = parse(ListCommandsInput, raw);
        if (input.CommandId !== undefined && !service.commands.has(input.CommandId)) {
          throw new AwsServiceError('InvalidCommandId', `Command ${input.CommandId} is not valid.`);
        }
        const keep = filterPredicate(input.Filters);
        const commands = [...service.commands.values()]
          .filter((c) => input.CommandId === undefined || c.commandId === input.CommandId)
          .filter((c) => input.InstanceId === undefined || c.instanceIds.includes(input.InstanceId))
          .map((c) => ({ c, view: commandView(c) }))
          .filter(({ c, view }) => keep({ requestedAt: c.requestedAt, status: view.Status, documentName: c.documentName, terminal: TERMINAL.has(view.Status) }))
          .sort((a, b) => b.c.requestedAt - a.c.requestedAt)
          .map(({ view }) => view);
        const { items, nextToken } = page(commands, input.MaxResults ?? 50, input.NextToken);
        return nextToken ? { Commands: items, NextToken: nextToken } : { Commands: items };
      }),
      ListCommandInvocations: wrap((raw) => {
        const input = parse(ListCommandInvocationsInput, raw);
        if (input.CommandId !== undefined && !service.commands.has(input.CommandId)) {
          throw new AwsServiceError('InvalidCommandId', `Command ${input.CommandId} is not valid.`);
        }
        const keep = filterPredicate(input.Filters);
        const rows = invocationsFor(input.CommandId, input.InstanceId)
          .filter(({ command, invocation }) =>
            keep({ requestedAt: command.requestedAt, status: invocation.status, documentName: command.documentName, terminal: TERMINAL.has(invocation.status) }),
          )
          .map(({ command, invocation }) => invocationView(command, invocation, input.Details ?? false));
        const { items, nextToken } = page(rows, input.MaxResults ?? 50, input.NextToken);
        return nextToken ? { CommandInvocations: items, NextToken: nextToken } : { CommandInvocations: items };
      }),
      CancelCommand: wrap((raw) => {
        const input = parse(CancelCommandInput, raw);
        service.cancelCommand(input.CommandId, input.InstanceIds);
        return {};
      }),
      DescribeInstanceInformation: wrap((raw) => {
        const input = parse(DescribeInstanceInformationInput, raw);
        const filters: { key: string; values: string[] }[] = [
          ...(input.InstanceInformationFilterList ?? []).map((f) => ({ key: f.key, values: f.valueSet })),
          ...(input.Filters ?? []).map((f) => ({ key: f.Key, values: f.Values })),
        ];
        const rows = [...service.instances.values()]
          .map((instance) => ({
            InstanceId: instance.instanceId,
            PingStatus: service.pingStatus(instance),
            LastPingDateTime: epochSeconds(service.lastPing(instance)),
            AgentVersion: service.agentVersion,
            IsLatestVersion: true,
            PlatformType: 'Linux',
            PlatformName: instance.platformName,
            PlatformVersion: instance.platformVersion,
            ResourceType: instance.instanceId.startsWith('mi-') ? 'ManagedInstance' : 'EC2Instance',
            IPAddress: '127.0.0.1',
            ComputerName: instance.computerName,
            RegistrationDate: epochSeconds(instance.registeredAt),
          }))
          .filter((row) =>
            filters.every((f) => {
              switch (f.key) {
                case 'InstanceIds':
                  return f.values.includes(row.InstanceId);
                case 'PingStatus':
                  return f.values.includes(row.PingStatus);
                case 'PlatformTypes':
                  return f.values.includes(row.PlatformType);
                case 'ResourceType':
                  return f.values.includes(row.ResourceType);
                case 'AgentVersion':
                  return f.values.includes(row.AgentVersion);
                default:
                  throw new AwsServiceError('InvalidInstanceInformationFilterValue', `The lab does not support filter key ${f.key}.`);
              }
            }),
          );
        const { items, nextToken } = page(rows, input.MaxResults ?? 50, input.NextToken);
        return nextToken ? { InstanceInformationList: items, NextToken: nextToken } : { InstanceInformationList: items };
      }),
      PutComplianceItems: wrap((raw) => {
        const input = parse(PutComplianceItemsInput, raw);
        if (input.ResourceType !== 'ManagedInstance') throw new AwsServiceError('InvalidResourceType', 'ResourceType must be ManagedInstance.');
        if (!service.instances.has(input.ResourceId)) throw new AwsServiceError('InvalidResourceId', `${input.ResourceId} is not a managed node.`);
        compliance.put(input);
        return {};
      }),
      ListComplianceItems: wrap((raw) => {
        const input = parse(ListComplianceItemsInput, raw);
        const { items, nextToken } = page(compliance.listItems(input), input.MaxResults ?? 10, input.NextToken);
        const ComplianceItems = items.map((item) => ({ ...item, ExecutionSummary: item.ExecutionSummary }));
        return nextToken ? { ComplianceItems, NextToken: nextToken } : { ComplianceItems };
      }),
      ListResourceComplianceSummaries: wrap((raw) => {
        const input = parse(ListResourceComplianceSummariesInput, raw);
        const { items, nextToken } = page(compliance.summaries(input), input.MaxResults ?? 10, input.NextToken);
        return nextToken ? { ResourceComplianceSummaryItems: items, NextToken: nextToken } : { ResourceComplianceSummaryItems: items };
      }),
    },
  });

  return {
    endpoint: server.url,
    registerInstance: (input) => service.registerInstance(input),
    setOnline: (instanceId, online) => service.setAgentState(instanceId, online ? 'online' : 'offline'),
    setAgentState: (instanceId, state) => service.setAgentState(instanceId, state),
    registerDocument: (name, content) => service.registerDocument(name, content),
    throttle: (n) => {
      throttled = Math.max(0, Math.trunc(n));
    },
    sentCommands: () =>
      [...service.commands.values()]
        .sort((a, b) => a.requestedAt - b.requestedAt)
        .map((c) => ({ commandId: c.commandId, documentName: c.documentName, instanceIds: c.instanceIds, parameters: c.parameters })),
    close: async () => {
      await service.close();
      await server.close();
    },
  };
}
