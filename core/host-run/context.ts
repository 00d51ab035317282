/**
 * The run context every task of one host run carries (HostRunContext in
 * core/models.ts), made here once for upgrades and rollbacks alike, and what
 * the run's core functions depend on.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { AlertSink } from '../alerts';
import { HostRunContext, type DatabaseMode, type HealthCheckPolicy, type RunKind } from '../models';
import type { Host, RegistryStore } from '../registry/store';
import type { ExecutionHistory } from './parent-proof';

export interface HostRunDeps {
  store: RegistryStore;
  alerts: AlertSink;
  /** Step Functions histories: a restore child proves its parent started it (parent-proof.ts). */
  executions: ExecutionHistory;
  leaseTtlSeconds: number;
  now?: () => number;
}

/** Run ids derive from the execution, so a retried begin-run finds its own run. */
export function runIdFor(executionArn: string): string {
  const h = createHash('sha256').update(`fleetwave-run:${executionArn}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The state machines start `backup`, `verdict` and `error` as `{}` (CDK drops null literals). */
export const emptyAsNull = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0 ? null : v), schema.nullable().optional());

/** The actor as the run context carries it (Reason: printable ASCII, at most 500 characters). */
const runActor = (actor: string) => actor.replace(/[^\x20-\x7E]/g, '?').slice(0, 500);

export interface RunContextParts {
  runId: string;
  kind: RunKind;
  host: Host;
  mode: DatabaseMode;
  targetVersion: string;
  rolloutId: string | null;
  leaseToken: number;
  startedAt: number;
  healthCheck: HealthCheckPolicy;
  actor: string;
}

export function runContext(p: RunContextParts): HostRunContext {
  return HostRunContext.parse({
    runId: p.runId,
    kind: p.kind,
    hostId: p.host.id,
    fleetId: p.host.fleetId,
    instanceId: p.host.instanceId,
    composeDir: p.host.composeDir,
    healthUrl: p.host.healthUrl,
    mode: p.mode,
    fromVersion: p.host.observedVersion,
    targetVersion: p.targetVersion,
    rolloutId: p.rolloutId,
    leaseToken: p.leaseToken,
    startedAt: p.startedAt,
    healthCheck: p.healthCheck,
    requestedBy: runActor(p.actor),
  });
}
