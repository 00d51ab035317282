/**
 * The lab's SSM Run Command service: the command store, delivery to the
 * per-instance agents (with Run Command's rate control, rate-control.ts, and
 * the agent's worker limit), running each step (its output uploaded by
 * output-upload.ts), cancel and close. The
 * records and status rules it applies are commands.ts; the API side is
 * operations.ts.
 *
 * Time follows the lab's one time scale (lab/clock.ts): the delivery timeout
 * (SendCommand `TimeoutSeconds`) is a limit, `clock.limit`; each step's
 * execution timeout (`timeoutSeconds`) bounds real bash, `clock.workLimit`. Everything else (exit codes,
 * limits) is as on AWS.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { REAL_TIME, type LabClock } from '../clock';
import { labS3Client } from '../s3';
import { runShellStep, type RunningStep, type RunStepOptions, type StepResult } from './agent';
import {
  finishInvocation,
  setInvocationStatus,
  SsmError,
  statusForExit,
  STDERR_INLINE_LIMIT,
  STDOUT_INLINE_LIMIT,
  TERMINAL,
  type CommandState,
  type InvocationState,
  type PluginState,
  type SendCommandRequest,
} from './commands';
import { agentHonoursEnvVar } from '../../core/host-steps/agent-version';
import { renderSteps, resolveParameters, type RenderedStep } from './document';
import { DocumentStore } from './document-store';
import { uploadCommandOutput } from './output-upload';
import { nextToSend } from './rate-control';

/** appconfig.DefaultCommandWorkersLimit: documents one agent runs at a time. */
export const AGENT_COMMAND_WORKERS = 5;

/** How an instance's agent answers: `undeliverable` models a node SSM cannot reach at all. */
export type AgentState = 'online' | 'offline' | 'undeliverable';

export interface RegisterInstanceInput {
  instanceId: string;
  /** The simulated host's folder; the agent keeps its orchestration files under `<hostRoot>/ssm`. */
  hostRoot: string;
  /** The agent process's environment; defaults to `{ PATH }` of the lab process. */
  env?: Record<string, string>;
  online?: boolean;
  /**
   * The agent's own working directory, used when a step names no absolute
   * `workingDirectory`. On EC2 the systemd unit sets `/usr/bin/`; the lab
   * defaults to hostRoot. Scripts must not depend on it.
   */
  workingDirectory?: string;
  computerName?: string;
  platformName?: string;
  platformVersion?: string;
  /** The SSM Agent the host runs; default the service's `agentVersion`. */
  agentVersion?: string;
  /**
   * Runs each step instead of the shell (default runShellStep): the bench's
   * simulated agents (lab/ssm/sim-agent.ts) answer without bash or docker.
   */
  runStep?: StepRunner;
}

/** What runs one step of a delivered command on an instance. */
export type StepRunner = (options: RunStepOptions & { documentName: string; instanceId: string }) => RunningStep;

export interface SsmServiceOptions {
  documents: Map<string, string | object>;
  s3?: { endpoint: string; client?: S3Client };
  region?: string;
  /** How long an invocation stays invisible (InvocationDoesNotExist) after SendCommand. Default 300 ms. */
  invocationVisibilityDelayMs?: number;
  /** The lab's one time scale: delivery and execution timeouts are limits. Default unscaled. */
  clock?: LabClock;
  /** Concurrent documents per agent. Default 5, as the real agent. */
  agentWorkers?: number;
  /** The agent version of an instance registered without one. Default 3.3.2746.0. */
  agentVersion?: string;
  log?: (message: string) => void;
}

/** An invocation's status change, as SSM reports it to EventBridge ("EC2 Command Invocation Status-change Notification"). */
export interface InvocationStatusChange {
  commandId: string;
  instanceId: string;
  documentName: string;
  status: string;
  requestedAt: number;
}

export interface InstanceState extends Required<Omit<RegisterInstanceInput, 'online' | 'env' | 'runStep'>> {
  env: Record<string, string>;
  runStep: StepRunner;
  state: AgentState;
  lastPingAt: number;
  registeredAt: number;
  busy: number;
  waiting: (() => void)[];
}

export class SsmService {
  /** Every document with its versions (document-store.ts). */
  readonly documents = new DocumentStore();
  readonly instances = new Map<string, InstanceState>();
  /** Receive every invocation status change (the lab's EventBridge). */
  readonly statusListeners: ((change: InvocationStatusChange) => void)[] = [];
  readonly commands = new Map<string, CommandState>();
  readonly region: string;
  private readonly s3: S3Client | undefined;
  private readonly ownsS3Client: boolean;
  private readonly s3Endpoint: string | undefined;
  private readonly visibilityDelayMs: number;
  private readonly clock: LabClock;
  private readonly workers: number;
  readonly agentVersion: string;
  private readonly log: (message: string) => void;
  private closed = false;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(options: SsmServiceOptions) {
    for (const [name, content] of options.documents) this.documents.deploy(name, content);
    this.region = options.region ?? 'us-east-1';
    this.s3Endpoint = options.s3?.endpoint;
    this.ownsS3Client = options.s3 !== undefined && options.s3.client === undefined;
    this.s3 = options.s3?.client ?? (options.s3 ? labS3Client(options.s3.endpoint, this.region) : undefined);
    this.visibilityDelayMs = options.invocationVisibilityDelayMs ?? 300;
    this.clock = options.clock ?? REAL_TIME;
    this.workers = options.agentWorkers ?? AGENT_COMMAND_WORKERS;
    this.agentVersion = options.agentVersion ?? '3.3.2746.0';
    this.log = options.log ?? (() => undefined);
  }

  /** Deploys a document as CloudFormation does with UpdateMethod NewVersion: a changed one gets a new, default version. */
  registerDocument(name: string, content: string | object): void {
    this.documents.deploy(name, content);
  }

  registerInstance(input: RegisterInstanceInput): void {
    const now = Date.now();
    this.instances.set(input.instanceId, {
      instanceId: input.instanceId,
      hostRoot: input.hostRoot,
      env: input.env ?? { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' },
      workingDirectory: input.workingDirectory ?? input.hostRoot,
      computerName: input.computerName ?? input.instanceId,
      platformName: input.platformName ?? 'Amazon Linux',
      platformVersion: input.platformVersion ?? '2023',
      agentVersion: input.agentVersion ?? this.agentVersion,
      runStep: input.runStep ?? runShellStep,
      state: input.online === false ? 'offline' : 'online',
      lastPingAt: now,
      registeredAt: now,
      busy: 0,
      waiting: [],
    });
  }

  setAgentState(instanceId: string, state: AgentState): void {
    const instance = this.requireInstance(instanceId);
    if (instance.state === 'online' && state !== 'online') instance.lastPingAt = Date.now();
    instance.state = state;
    if (state === 'offline') return;
    // A returning agent picks up what was waiting for it; an unreachable one fails it.
    for (const command of this.commands.values()) {
      const invocation = command.invocations.get(instanceId);
      if (invocation && invocation.sent && (invocation.status === 'Delayed' || invocation.status === 'Pending') && invocation.deliveredAt === null) {
        this.attemptDelivery(command, invocation);
      }
    }
  }

  /** The host's agent was replaced by another version (an operator updated or reinstalled it). */
  setAgentVersion(instanceId: string, version: string): void {
    this.requireInstance(instanceId).agentVersion = version;
  }

  private requireInstance(instanceId: string): InstanceState {
    const instance = this.instances.get(instanceId);
    if (!instance) throw new Error(`instance ${instanceId} is not registered with the lab`);
    return instance;
  }

  sendCommand(request: SendCommandRequest): CommandState {
    // InvalidDocument / InvalidDocumentVersion: the version asked for, $DEFAULT when none
    const doc = this.documents.resolve(request.DocumentName, request.DocumentVersion).parsed;
    const unknown = request.InstanceIds.filter((id) => !this.instances.has(id));
    // Unregistered nodes are refused up front; registered-but-offline ones are
    // accepted and time out in delivery (InvalidInstanceId covers nodes that
    // are not managed at all, or terminated).
    if (unknown.length > 0) throw new SsmError('InvalidInstanceId', `Instances [${unknown.join(', ')}] not in a valid state for account.`);
    let values: Record<string, string[]>;
    try {
      values = resolveParameters(doc, request.Parameters);
    } catch (err) {
      throw new SsmError('InvalidParameters', (err as Error).message);
    }
    const steps = renderSteps(doc, values);
    const now = Date.now();
    const commandId = randomUUID();
    const deliveryTimeoutSeconds = request.TimeoutSeconds ?? 3600;
    const command: CommandState = {
      commandId,
      documentName: request.DocumentName,
      // the Command is "the request as it was received by Systems Manager" (SendCommand API reference)
      documentVersion: request.DocumentVersion ?? '$DEFAULT',
      comment: request.Comment ?? '',
      instanceIds: [...new Set(request.InstanceIds)],
      parameters: request.Parameters ?? {},
      requestedAt: now,
      // ExpiresAfter: the delivery timeout plus the document's execution timeouts (as the lab enforces them).
      expiresAt: now + this.clock.limit(deliveryTimeoutSeconds * 1000) + steps.reduce((sum, s) => sum + this.clock.workLimit(s.timeoutSeconds * 1000), 0),
      deliveryTimeoutSeconds,
      outputS3BucketName: request.OutputS3BucketName ?? '',
      outputS3KeyPrefix: request.OutputS3KeyPrefix ?? '',
      outputS3Region: request.OutputS3Region ?? this.region,
      maxConcurrency: request.MaxConcurrency ?? '50',
      maxErrors: request.MaxErrors ?? '0',
      serviceRoleArn: request.ServiceRoleArn ?? '',
      notificationConfig: request.NotificationConfig ?? { NotificationArn: '', NotificationEvents: [], NotificationType: '' },
      cloudWatchOutputConfig: {
        CloudWatchLogGroupName: request.CloudWatchOutputConfig?.CloudWatchLogGroupName ?? '',
        CloudWatchOutputEnabled: request.CloudWatchOutputConfig?.CloudWatchOutputEnabled ?? false,
      },
      steps,
      invocations: new Map(),
      cancelled: false,
    };
    for (const instanceId of command.instanceIds) {
      const invocation: InvocationState = {
        commandId,
        instanceId,
        status: 'Pending',
        statusDetails: 'Pending',
        visibleAt: now + this.visibilityDelayMs,
        deliveredAt: null,
        plugins: steps.map((step) => this.newPlugin(command, instanceId, step)),
        running: null,
        deliveryTimer: null,
        cancelRequested: false,
        onStatusChange: (inv) => {
          const change = { commandId, instanceId, documentName: command.documentName, status: inv.status, requestedAt: command.requestedAt };
          for (const listener of this.statusListeners) listener(change);
        },
        sent: false,
      };
      command.invocations.set(instanceId, invocation);
      const deliveryMs = this.clock.limit(deliveryTimeoutSeconds * 1000);
      invocation.deliveryTimer = setTimeout(() => this.deliveryTimedOut(invocation), deliveryMs);
    }
    this.commands.set(commandId, command);
    setImmediate(() => this.rateControl(command));
    return command;
  }

  /** Sends the command to as many nodes as MaxConcurrency allows, or stops past MaxErrors (rate-control.ts). */
  private rateControl(command: CommandState): void {
    if (this.closed) return;
    const { send, drop } = nextToSend(command);
    for (const invocation of drop) setInvocationStatus(invocation, 'Cancelled', 'Cancelled');
    for (const invocation of send) {
      invocation.sent = true;
      this.attemptDelivery(command, invocation);
    }
  }

  /** An invocation reached its end: rate control may send the next one. */
  private settled(invocation: InvocationState): void {
    const command = this.commands.get(invocation.commandId);
    if (command) this.rateControl(command);
  }

  private newPlugin(command: CommandState, instanceId: string, step: RenderedStep): PluginState {
    // agent runcommand/utils.go + docparser: <prefix>/<commandId>/<instanceId>/<action without ':'>/<step>/stdout
    const prefix = [command.outputS3KeyPrefix.replace(/^\/+|\/+$/g, ''), command.commandId, instanceId, 'awsrunShellScript', step.name]
      .filter((part) => part !== '')
      .join('/');
    const url = (file: string) =>
      command.outputS3BucketName && this.s3Endpoint ? `${this.s3Endpoint}/${command.outputS3BucketName}/${prefix}/${file}` : '';
    return {
      name: step.name,
      status: 'Pending',
      statusDetails: 'Pending',
      responseCode: -1,
      startedAt: null,
      endedAt: null,
      stdout: '',
      stderr: '',
      stdoutUrl: url('stdout'),
      stderrUrl: url('stderr'),
      outputS3KeyPrefix: prefix,
    };
  }

  private attemptDelivery(command: CommandState, invocation: InvocationState): void {
    if (this.closed || invocation.deliveredAt !== null || TERMINAL.has(invocation.status)) return;
    const instance = this.requireInstance(invocation.instanceId);
    if (instance.state === 'undeliverable') {
      setInvocationStatus(invocation, 'Failed', 'Undeliverable');
      setImmediate(() => this.settled(invocation));
      return;
    }
    if (instance.state === 'offline') {
      // "Delayed: the system attempted to send the command to the target, but the target wasn't available."
      setInvocationStatus(invocation, 'Delayed', 'Delayed');
      return;
    }
    invocation.deliveredAt = Date.now();
    if (invocation.deliveryTimer) clearTimeout(invocation.deliveryTimer);
    invocation.deliveryTimer = null;
    setInvocationStatus(invocation, 'InProgress', 'InProgress');
    const work = this.runInvocation(command, invocation, instance).catch((err: unknown) => {
      this.log(`ssm: invocation ${command.commandId}/${invocation.instanceId} crashed: ${(err as Error).stack ?? String(err)}`);
      setInvocationStatus(invocation, 'Failed', 'Failed');
    });
    void work.then(() => this.settled(invocation));
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  private deliveryTimedOut(invocation: InvocationState): void {
    invocation.deliveryTimer = null;
    if (invocation.deliveredAt !== null || TERMINAL.has(invocation.status)) return;
    setInvocationStatus(invocation, 'TimedOut', 'DeliveryTimedOut');
    this.settled(invocation);
  }

  private async acquireWorker(instance: InstanceState): Promise<void> {
    if (instance.busy < this.workers) {
      instance.busy += 1;
      return;
    }
    await new Promise<void>((resolve) => instance.waiting.push(resolve));
    instance.busy += 1;
  }

  private releaseWorker(instance: InstanceState): void {
    instance.busy -= 1;
    instance.waiting.shift()?.();
  }

  private async runInvocation(command: CommandState, invocation: InvocationState, instance: InstanceState): Promise<void> {
    await this.acquireWorker(instance);
    try {
      const orchestrationDir = join(instance.hostRoot, 'ssm', 'orchestration', command.commandId);
      mkdirSync(orchestrationDir, { recursive: true, mode: 0o700 });
      for (const [index, step] of command.steps.entries()) {
        const plugin = invocation.plugins[index];
        if (!plugin) continue;
        if (invocation.cancelRequested || this.closed) {
          plugin.status = 'Cancelled';
          plugin.statusDetails = 'Cancelled';
          continue;
        }
        plugin.status = 'InProgress';
        plugin.statusDetails = 'InProgress';
        plugin.startedAt = Date.now();
        const running = instance.runStep({
          documentName: command.documentName,
          instanceId: instance.instanceId,
          orchestrationDir,
          // An agent older than 3.3.2746.0 ignores interpolationType ENV_VAR: the
          // SSM_<Name> variables are not set (Systems Manager user guide,
          // parameter-troubleshooting.html, "Environment variables not available").
          step: agentHonoursEnvVar(instance.agentVersion) ? step : { ...step, env: {} },
          timeoutMs: this.clock.workLimit(step.timeoutSeconds * 1000),
          agentWorkingDirectory: instance.workingDirectory,
          agentEnv: instance.env,
          extraEnv: {
            AWS_SSM_INSTANCE_ID: instance.instanceId,
            AWS_SSM_REGION_NAME: this.region,
            AWS_SSM_PLATFORM_NAME: instance.platformName,
            AWS_SSM_PLATFORM_VERSION: instance.platformVersion,
            SSM_COMMAND_ID: command.commandId,
          },
          headChars: { stdout: STDOUT_INLINE_LIMIT, stderr: STDERR_INLINE_LIMIT },
        });
        invocation.running = running;
        const result = await running.result;
        invocation.running = null;
        if (this.s3 && !this.closed) await uploadCommandOutput(this.s3, command, plugin, result, this.log);
        const { status, details } = statusForExit(result);
        plugin.responseCode = result.exitCode;
        plugin.stdout = result.stdout.head;
        plugin.stderr = result.stderr.head;
        plugin.endedAt = result.endedAt;
        plugin.status = status;
        plugin.statusDetails = details;
      }
      finishInvocation(invocation);
    } finally {
      this.releaseWorker(instance);
    }
  }

  cancelCommand(commandId: string, instanceIds: string[] | undefined): void {
    const command = this.commands.get(commandId);
    if (!command) throw new SsmError('InvalidCommandId', `Command ${commandId} is not valid.`);
    const targets = instanceIds && instanceIds.length > 0 ? instanceIds : command.instanceIds;
    for (const id of targets) {
      const invocation = command.invocations.get(id);
      if (!invocation) throw new SsmError('InvalidInstanceId', `Instance ${id} is not part of command ${commandId}.`);
      if (TERMINAL.has(invocation.status)) continue;
      invocation.cancelRequested = true;
      if (invocation.deliveredAt === null) {
        setInvocationStatus(invocation, 'Cancelled', 'Cancelled');
      } else if (invocation.running) {
        // Cancellation is a request to the agent: "Cancelling" until it killed the process group.
        setInvocationStatus(invocation, 'Cancelling', 'Cancelling');
        invocation.running.cancel();
      } else {
        // Delivered but still queued for a worker: the agent drops it.
        setInvocationStatus(invocation, 'Cancelling', 'Cancelling');
      }
    }
    if (!instanceIds || instanceIds.length === 0) command.cancelled = true;
    this.rateControl(command);
  }

  /** Kills every running script and stops all timers; the state stays readable. */
  async close(): Promise<void> {
    this.closed = true;
    for (const command of this.commands.values()) {
      for (const invocation of command.invocations.values()) {
        if (invocation.deliveryTimer) clearTimeout(invocation.deliveryTimer);
        invocation.deliveryTimer = null;
        invocation.running?.cancel();
      }
    }
    // Documents queued behind the worker limit wake up, see `closed` and end Cancelled.
    for (const instance of this.instances.values()) {
      for (const wake of instance.waiting.splice(0)) wake();
    }
    await Promise.allSettled([...this.pending]);
    if (this.ownsS3Client) this.s3?.destroy();
  }
}
