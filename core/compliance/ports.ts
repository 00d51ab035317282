/**
 * Ports of the compliance check. Adapters (adapters.ts) are the only code
 * that knows the AWS SDK; tests and the lab inject them.
 */
import type { z } from 'zod';
import type { Invocation } from '../host-steps/ports';
import type { RegistryStore } from '../registry/store';
import type { FleetCounts, HostCompliance } from './model';

/** JSON objects under the bucket's `compliance/` prefix. */
export interface JsonObjects {
  /** null when the object does not exist. */
  get<S extends z.ZodType>(key: string, schema: S): Promise<z.output<S> | null>;
  put(key: string, value: unknown): Promise<void>;
}

export interface BatchCommandRequest {
  documentName: string;
  instanceIds: string[];
  composeDir: string;
  /** Idempotency key (SSM Comment, at most 100 characters). */
  comment: string;
  deliveryTimeoutSeconds: number;
  /** SSM's own rate control across the batch's instances. */
  maxConcurrency: string;
  maxErrors: string;
  outputBucket: string;
  outputKeyPrefix: string;
}

export interface InvocationStatus {
  instanceId: string;
  status: string;
  statusDetails: string;
}

export interface InventoryCommands {
  /** Ping status per managed instance (`Online`, `ConnectionLost`, …); an id SSM does not know is absent. */
  pingStatus(instanceIds: string[]): Promise<Map<string, string>>;
  /** @returns the command id. Throws `HostUnreachableError` when SSM refuses an instance id. */
  send(request: BatchCommandRequest): Promise<string>;
  /** An earlier command with exactly this comment and document to `instanceId`, sent after `invokedAfter`. */
  findByComment(query: { instanceId: string; comment: string; documentName: string; invokedAfter: number }): Promise<string | null>;
  listInvocations(commandId: string): Promise<InvocationStatus[]>;
  getInvocation(ref: { commandId: string; instanceId: string }): Promise<Invocation | null>;
  /** The last bytes of an invocation's stdout in S3 (inline output is cut at 24,000 characters). */
  readStdoutTail(ref: { commandId: string; instanceId: string; url: string | null }): Promise<string | null>;
  /** Best effort. */
  cancel(commandId: string): Promise<void>;
}

/** Systems Manager Compliance: one `Custom:FleetwaveVersionParity` item per host. */
export interface ComplianceItems {
  put(host: HostCompliance, execution: { checkId: string; at: number }): Promise<void>;
}

export interface ComplianceMetrics {
  publish(fleets: FleetCounts[], at: number): Promise<void>;
}


export type ComplianceStore = Pick<
  RegistryStore,
  | 'listFleets'
  | 'getFleet'
  | 'listHosts'
  | 'listReleases'
  | 'recordObservedVersion'
  | 'createComplianceCheck'
  | 'getComplianceCheck'
  | 'completeComplianceCheck'
  | 'failComplianceCheck'
  | 'latestComplianceCheck'
  | 'complianceCounts'
  | 'markComplianceNotified'
>;
