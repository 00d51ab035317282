/**
 * The shapes SSM answers with: a Command (SendCommand, ListCommands), a
 * CommandInvocation (ListCommandInvocations), GetCommandInvocation's per-step
 * view, and an InstanceInformation row (DescribeInstanceInformation).
 */
import { epochSeconds } from '../aws-json';
import { combinedPluginOutput, commandStatus, type CommandState, type InvocationState, type PluginState } from './commands';
import type { InstanceState, SsmService } from './service';

export function commandView(command: CommandState) {
  const status = commandStatus(command);
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
}

export function invocationView(command: CommandState, invocation: InvocationState, details: boolean) {
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
}

const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());

/** GetCommandInvocation: one step (plugin) of one invocation. */
export function pluginInvocationView(command: CommandState, invocation: InvocationState, plugin: PluginState) {
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
}

function pingStatus(instance: InstanceState): 'Online' | 'ConnectionLost' | 'Inactive' {
  if (instance.state === 'online') return 'Online';
  return instance.state === 'offline' ? 'ConnectionLost' : 'Inactive';
}

/** An online agent pings all the time; an offline one was last heard when it went away. */
function lastPing(instance: InstanceState): number {
  return instance.state === 'online' ? Date.now() : instance.lastPingAt;
}

export function instanceInformationView(service: SsmService, instance: InstanceState) {
  return {
    InstanceId: instance.instanceId,
    PingStatus: pingStatus(instance),
    LastPingDateTime: epochSeconds(lastPing(instance)),
    // per node, as SSM reports it: each host runs the agent installed on it
    AgentVersion: instance.agentVersion,
    IsLatestVersion: instance.agentVersion === service.agentVersion,
    PlatformType: 'Linux',
    PlatformName: instance.platformName,
    PlatformVersion: instance.platformVersion,
    ResourceType: instance.instanceId.startsWith('mi-') ? 'ManagedInstance' : 'EC2Instance',
    IPAddress: '127.0.0.1',
    ComputerName: instance.computerName,
    RegistrationDate: epochSeconds(instance.registeredAt),
  };
}
