/**
 * The SSM API handlers, one per operation: each validates its request
 * (requests.ts), asks the service or the compliance store, and answers in the
 * API's shape (views.ts). Service errors become the error names the SDK
 * surfaces.
 */
import { AwsServiceError, type OperationHandler } from '../aws-json';
import { isVisible, SsmError, TERMINAL, type CommandState, type InvocationState } from './commands';
import {
  ComplianceStore,
  ListComplianceItemsInput,
  ListResourceComplianceSummariesInput,
  PutComplianceItemsInput,
} from './compliance';
import {
  CancelCommandInput,
  DescribeDocumentInput,
  DescribeInstanceInformationInput,
  filterPredicate,
  GetCommandInvocationInput,
  INSTANCE_ID,
  ListCommandInvocationsInput,
  ListCommandsInput,
  page,
  parseRequest,
  SendCommandInput,
  UpdateDocumentDefaultVersionInput,
  UpdateDocumentInput,
} from './requests';
import type { SsmService } from './service';
import { commandView, instanceInformationView, invocationView, pluginInvocationView } from './views';

/** Visible invocations, optionally of one command and/or one instance, newest first as the service lists them. */
function invocationsFor(service: SsmService, commandId: string | undefined, instanceId: string | undefined) {
  const out: { command: CommandState; invocation: InvocationState }[] = [];
  for (const command of service.commands.values()) {
    if (commandId !== undefined && command.commandId !== commandId) continue;
    for (const invocation of command.invocations.values()) {
      if (instanceId !== undefined && invocation.instanceId !== instanceId) continue;
      if (!isVisible(invocation)) continue;
      out.push({ command, invocation });
    }
  }
  return out.sort((a, b) => b.command.requestedAt - a.command.requestedAt);
}

function requireKnownCommand(service: SsmService, commandId: string | undefined): void {
  if (commandId !== undefined && !service.commands.has(commandId)) {
    throw new AwsServiceError('InvalidCommandId', `Command ${commandId} is not valid.`);
  }
}

function sendCommand(service: SsmService, raw: unknown) {
  const input = parseRequest(SendCommandInput, raw);
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
  const command = service.sendCommand({ ...input, InstanceIds: instanceIds } as Parameters<SsmService['sendCommand']>[0]);
  return { Command: commandView(command) };
}

function getCommandInvocation(service: SsmService, raw: unknown) {
  const input = parseRequest(GetCommandInvocationInput, raw);
  const command = service.commands.get(input.CommandId);
  const invocation = command?.invocations.get(input.InstanceId);
  if (!command || !invocation || !isVisible(invocation)) {
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
  return pluginInvocationView(command, invocation, plugin);
}

/** Whether the command reached the node: its invocation there left Pending/Delayed (delivered or ended). */
function reachedNode(command: CommandState, instanceId: string): boolean {
  const invocation = command.invocations.get(instanceId);
  return invocation !== undefined && (invocation.deliveredAt !== null || TERMINAL.has(invocation.status));
}

function listCommands(service: SsmService, raw: unknown) {
  const input = parseRequest(ListCommandsInput, raw);
  requireKnownCommand(service, input.CommandId);
  const keep = filterPredicate(input.Filters);
  const commands = [...service.commands.values()]
    .filter((c) => input.CommandId === undefined || c.commandId === input.CommandId)
    // "You can't specify a managed node ID in the same command that you specify Status = Pending.
    // This is because the command hasn't reached the managed node yet." (SSM API reference,
    // ListCommands): filtered by node, a command not yet delivered to it is not listed.
    .filter((c) => input.InstanceId === undefined || (c.instanceIds.includes(input.InstanceId) && reachedNode(c, input.InstanceId)))
    .map((c) => ({ c, view: commandView(c) }))
    .filter(({ c, view }) => keep({ requestedAt: c.requestedAt, status: view.Status, documentName: c.documentName, terminal: TERMINAL.has(view.Status) }))
    .sort((a, b) => b.c.requestedAt - a.c.requestedAt)
    .map(({ view }) => view);
  const { items, nextToken } = page(commands, input.MaxResults ?? 50, input.NextToken);
  return nextToken ? { Commands: items, NextToken: nextToken } : { Commands: items };
}

function listCommandInvocations(service: SsmService, raw: unknown) {
  const input = parseRequest(ListCommandInvocationsInput, raw);
  requireKnownCommand(service, input.CommandId);
  const keep = filterPredicate(input.Filters);
  const rows = invocationsFor(service, input.CommandId, input.InstanceId)
    .filter(({ command, invocation }) =>
      keep({ requestedAt: command.requestedAt, status: invocation.status, documentName: command.documentName, terminal: TERMINAL.has(invocation.status) }),
    )
    .map(({ command, invocation }) => invocationView(command, invocation, input.Details ?? false));
  const { items, nextToken } = page(rows, input.MaxResults ?? 50, input.NextToken);
  return nextToken ? { CommandInvocations: items, NextToken: nextToken } : { CommandInvocations: items };
}

function cancelCommand(service: SsmService, raw: unknown) {
  const input = parseRequest(CancelCommandInput, raw);
  service.cancelCommand(input.CommandId, input.InstanceIds);
  return {};
}

function describeInstanceInformation(service: SsmService, raw: unknown) {
  const input = parseRequest(DescribeInstanceInformationInput, raw);
  const filters: { key: string; values: string[] }[] = [
    ...(input.InstanceInformationFilterList ?? []).map((f) => ({ key: f.key, values: f.valueSet })),
    ...(input.Filters ?? []).map((f) => ({ key: f.Key, values: f.Values })),
  ];
  const rows = [...service.instances.values()]
    .map((instance) => instanceInformationView(service, instance))
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
}

// VersionName is not kept by the lab: fleetwave never names versions (names are unique per
// document, so a stack rollback to earlier content could not reuse one).
const noVersionNames = (versionName: string | undefined) => {
  if (versionName !== undefined) throw new AwsServiceError('ValidationException', 'The lab keeps no document version names.');
};

function describeDocument(service: SsmService, raw: unknown) {
  const input = parseRequest(DescribeDocumentInput, raw);
  noVersionNames(input.VersionName);
  return { Document: service.documents.describe(input.Name, input.DocumentVersion) };
}

/** A new version; the default stays where it was (UpdateDocument API reference). */
function updateDocument(service: SsmService, raw: unknown) {
  const input = parseRequest(UpdateDocumentInput, raw);
  noVersionNames(input.VersionName);
  const created = service.documents.update(input.Name, input.Content, input.DocumentVersion);
  return { DocumentDescription: service.documents.describe(input.Name, created.version) };
}

function updateDocumentDefaultVersion(service: SsmService, raw: unknown) {
  const input = parseRequest(UpdateDocumentDefaultVersionInput, raw);
  service.documents.setDefault(input.Name, input.DocumentVersion);
  return { Description: { Name: input.Name, DefaultVersion: input.DocumentVersion } };
}

function putComplianceItems(service: SsmService, compliance: ComplianceStore, raw: unknown) {
  const input = parseRequest(PutComplianceItemsInput, raw);
  if (input.ResourceType !== 'ManagedInstance') throw new AwsServiceError('InvalidResourceType', 'ResourceType must be ManagedInstance.');
  if (!service.instances.has(input.ResourceId)) throw new AwsServiceError('InvalidResourceId', `${input.ResourceId} is not a managed node.`);
  compliance.put(input);
  return {};
}

function listComplianceItems(compliance: ComplianceStore, raw: unknown) {
  const input = parseRequest(ListComplianceItemsInput, raw);
  const { items, nextToken } = page(compliance.listItems(input), input.MaxResults ?? 10, input.NextToken);
  const ComplianceItems = items.map((item) => ({ ...item, ExecutionSummary: item.ExecutionSummary }));
  return nextToken ? { ComplianceItems, NextToken: nextToken } : { ComplianceItems };
}

function listResourceComplianceSummaries(compliance: ComplianceStore, raw: unknown) {
  const input = parseRequest(ListResourceComplianceSummariesInput, raw);
  const { items, nextToken } = page(compliance.summaries(input), input.MaxResults ?? 10, input.NextToken);
  return nextToken ? { ResourceComplianceSummaryItems: items, NextToken: nextToken } : { ResourceComplianceSummaryItems: items };
}

/** A service error (SsmError) reaches the client under its own name. */
function asServiceErrors(handler: (input: unknown) => unknown): OperationHandler {
  return (input: unknown) => {
    try {
      return handler(input);
    } catch (err) {
      if (err instanceof SsmError) throw new AwsServiceError(err.name, err.message);
      throw err;
    }
  };
}

export function ssmOperations(service: SsmService, compliance: ComplianceStore): Record<string, OperationHandler> {
  const handlers: Record<string, (input: unknown) => unknown> = {
    SendCommand: (i) => sendCommand(service, i),
    GetCommandInvocation: (i) => getCommandInvocation(service, i),
    ListCommands: (i) => listCommands(service, i),
    ListCommandInvocations: (i) => listCommandInvocations(service, i),
    CancelCommand: (i) => cancelCommand(service, i),
    DescribeInstanceInformation: (i) => describeInstanceInformation(service, i),
    DescribeDocument: (i) => describeDocument(service, i),
    UpdateDocument: (i) => updateDocument(service, i),
    UpdateDocumentDefaultVersion: (i) => updateDocumentDefaultVersion(service, i),
    PutComplianceItems: (i) => putComplianceItems(service, compliance, i),
    ListComplianceItems: (i) => listComplianceItems(compliance, i),
    ListResourceComplianceSummaries: (i) => listResourceComplianceSummaries(compliance, i),
  };
  return Object.fromEntries(Object.entries(handlers).map(([name, handler]) => [name, asServiceErrors(handler)]));
}
