/**
 * The lab's SSM endpoint (AWS JSON 1.1, target prefix `AmazonSSM`), so the
 * Lambda tasks and the CLI use the ordinary `@aws-sdk/client-ssm` with only
 * `AWS_ENDPOINT_URL_SSM` set. Operations: SendCommand, GetCommandInvocation,
 * ListCommands, ListCommandInvocations, CancelCommand,
 * DescribeInstanceInformation, DescribeDocument, UpdateDocument,
 * UpdateDocumentDefaultVersion, PutComplianceItems, ListComplianceItems,
 * ListResourceComplianceSummaries (operations.ts). Documents keep their
 * versions (document-store.ts); SendCommand runs the DocumentVersion it names.
 *
 * Fault hooks: `setOnline(id, false)` (agent offline: PingStatus
 * ConnectionLost, new commands end TimedOut/DeliveryTimedOut),
 * `setAgentState(id, 'undeliverable')` (Failed/Undeliverable),
 * `setAgentVersion(id, v)` (an agent older than 3.3.2746.0 runs scripts
 * without their SSM_<Name> variables), `throttle(n)`
 * (the next n requests fail with ThrottlingException).
 */
import { AwsServiceError, startAwsJsonServer } from '../aws-json';
import type { LabClock } from '../clock';
import { ComplianceStore } from './compliance';
import { ssmOperations } from './operations';
import { SsmService, type AgentState, type InvocationStatusChange, type RegisterInstanceInput, type SsmServiceOptions } from './service';

export { InvalidDocumentContentError, InvalidParametersError, parseCommandDocument } from './document';
export { STOPPED_PREEMPTIVELY_EXIT_CODE } from './agent';
export { PLUGIN_OUTPUT_LIMIT, STDERR_INLINE_LIMIT, STDOUT_INLINE_LIMIT } from './commands';
export { AGENT_COMMAND_WORKERS, type AgentState, type InvocationStatusChange, type RegisterInstanceInput } from './service';

export interface StartSsmOptions {
  port?: number;
  /** Document name → schema 2.2 content (JSON/YAML text or the parsed object). */
  documents: Map<string, string | object>;
  /** Where `OutputS3BucketName` output goes (the lab's s3rver). */
  s3?: { endpoint: string };
  region?: string;
  /** The lab's one time scale (lab/clock.ts): delivery and execution timeouts. Default unscaled. */
  clock?: LabClock;
  options?: {
    /** InvocationDoesNotExist window after SendCommand. Default 300 ms. */
    invocationVisibilityDelayMs?: number;
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
  /** The host's SSM Agent is now this version (DescribeInstanceInformation answers it; < 3.3.2746.0 ignores ENV_VAR). */
  setAgentVersion(instanceId: string, version: string): void;
  /** Deploys a document (CloudFormation, UpdateMethod NewVersion): new, or a new default version when its content changed. */
  registerDocument(name: string, content: string | object): void;
  /** The next `n` requests fail with ThrottlingException. */
  throttle(n: number): void;
  /** Every SendCommand the endpoint accepted, oldest first (for assertions). */
  sentCommands(): { commandId: string; documentName: string; documentVersion: string; instanceIds: string[]; parameters: Record<string, string[]> }[];
  /** Every invocation status change from now on, as SSM sends it to EventBridge. */
  onInvocationStatusChange(listener: (change: InvocationStatusChange) => void): void;
  /** Kills running scripts and stops the endpoint. */
  close(): Promise<void>;
}

/** The rate hook: the next `n` requests fail with ThrottlingException, as a busy SSM answers. */
function requestThrottle() {
  let throttled = 0;
  return {
    onRequest: () => {
      if (throttled > 0) {
        throttled -= 1;
        throw new AwsServiceError('ThrottlingException', 'Rate exceeded');
      }
    },
    set: (n: number) => {
      throttled = Math.max(0, Math.trunc(n));
    },
  };
}

export async function startSsm(options: StartSsmOptions): Promise<LabSsm> {
  const serviceOptions: SsmServiceOptions = {
    documents: options.documents,
    ...(options.s3 ? { s3: options.s3 } : {}),
    ...(options.region ? { region: options.region } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...options.options,
  };
  const service = new SsmService(serviceOptions);
  const throttle = requestThrottle();
  const server = await startAwsJsonServer({
    targetPrefix: 'AmazonSSM',
    port: options.port,
    onRequest: throttle.onRequest,
    operations: ssmOperations(service, new ComplianceStore()),
  });

  return {
    endpoint: server.url,
    registerInstance: (input) => service.registerInstance(input),
    setOnline: (instanceId, online) => service.setAgentState(instanceId, online ? 'online' : 'offline'),
    setAgentState: (instanceId, state) => service.setAgentState(instanceId, state),
    setAgentVersion: (instanceId, version) => service.setAgentVersion(instanceId, version),
    registerDocument: (name, content) => service.registerDocument(name, content),
    throttle: throttle.set,
    onInvocationStatusChange: (listener) => {
      service.statusListeners.push(listener);
    },
    sentCommands: () =>
      [...service.commands.values()]
        .sort((a, b) => a.requestedAt - b.requestedAt)
        .map((c) => ({ commandId: c.commandId, documentName: c.documentName, documentVersion: c.documentVersion, instanceIds: c.instanceIds, parameters: c.parameters })),
    close: async () => {
      await service.close();
      await server.close();
    },
  };
}
