/**
 * Ports of the host-step core. The adapters (`SsmCommandRunner`,
 * `S3CommandOutputReader`) are the only code that knows the AWS SDK.
 */
import type { RestoreObjects } from '../backup-storage/ports';
import type { AgentVersionReader } from './agent-version';

export interface SendCommandRequest {
  documentName: string;
  instanceId: string;
  parameters: Record<string, string[]>;
  /** Idempotency key, at most 100 characters (SSM's limit). */
  comment: string;
  /** SSM `TimeoutSeconds`: how long the command may wait for delivery. */
  deliveryTimeoutSeconds: number;
  outputBucket: string;
  outputKeyPrefix: string;
}

export interface CommandSummary {
  commandId: string;
  instanceId: string;
  documentName: string;
  comment: string;
  /** Epoch ms. */
  requestedAt: number;
}

/** One invocation as GetCommandInvocation reports it. */
export interface Invocation {
  status: string;
  statusDetails: string;
  responseCode: number;
  /** Inline stdout: SSM keeps only the first 24,000 characters. */
  stdout: string;
  stdoutUrl: string | null;
}

export interface CommandRunner extends AgentVersionReader {
  /** Throws HostUnreachableError when SSM refuses the instance. */
  send(request: SendCommandRequest): Promise<CommandSummary>;
  /** The newest command for the instance with exactly this comment (and document), sent after `invokedAfter` (epoch ms). */
  findByComment(query: {
    instanceId: string;
    comment: string;
    documentName: string;
    invokedAfter: number;
  }): Promise<CommandSummary | null>;
  /** Null while SSM answers InvocationDoesNotExist (normal for a moment after SendCommand). */
  getInvocation(ref: { commandId: string; instanceId: string }): Promise<Invocation | null>;
  /** Best effort; a command that already ended is not an error. */
  cancel(ref: { commandId: string; instanceId: string }): Promise<void>;
}

export interface CommandOutputReader {
  /**
   * The last `maxBytes` bytes of an invocation's full stdout in S3, or null
   * when SSM wrote none. `url` is SSM's StandardOutputUrl when it gave one;
   * otherwise the object is looked up under `prefix`.
   */
  readStdoutTail(location: { bucket: string; prefix: string; url: string | null; maxBytes: number }): Promise<string | null>;
}

