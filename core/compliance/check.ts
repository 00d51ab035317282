/**
 * The ComplianceCheck tasks as plain functions `(input, deps)`:
 *
 *   planCheck     registry → batches of ≤50 hosts sharing a compose dir; the
 *                 plan goes to S3, the state gets `[{checkId, index}]` only.
 *   sendBatch     one SendCommand of Fleetwave-Inventory per batch (offline
 *                 and unknown instances are not sent to: they are UNKNOWN
 *                 at once instead of waiting out SSM's delivery timeout).
 *   collectBatch  statuses of the batch's invocations; Pending until all are
 *                 terminal or the deadline passed; observations to S3.
 *   finishCheck, failCheck   in finish.ts: evaluate and report, or mark failed.
 *
 * Every task is safe to run twice: send and collect return what they wrote
 * to S3 the first time, finish returns the completed check, and a drift
 * alert is published until it is marked as published (at least once).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { HostUnreachableError } from '../host-steps/errors';
import { parseResultLine, INLINE_STDOUT_LIMIT } from '../host-steps/poll-step';
import { redactSecrets } from '../redact';
import { ComplianceBatchNotFoundError, CompliancePlanMissingError } from './errors';
import {
  BatchObservations,
  BatchSend,
  CheckPlan,
  ComplianceCheckInput,
  InventoryResult,
  type Batch,
  type HostObservation,
  type UnknownCause,
} from './model';
import type { ComplianceStore, InventoryCommands, JsonObjects } from './ports';

/** SSM SendCommand takes at most 50 InstanceIds. */
export const MAX_BATCH_SIZE = 50;
/** The Inventory document's own execution timeout (ssm-documents/inventory.yml). */
export const INVENTORY_EXECUTION_SECONDS = 120;
export const OUTPUT_KEY_PREFIX = 'command-output';

export const keys = {
  plan: (checkId: string) => `compliance/${checkId}/plan.json`,
  send: (checkId: string, index: number) => `compliance/${checkId}/batches/${index}/send.json`,
  observations: (checkId: string, index: number) => `compliance/${checkId}/batches/${index}/observations.json`,
  report: (checkId: string) => `compliance/${checkId}.json`,
};

/** A check's id is derived from its execution, so a retried plan task makes the same check. */
export function checkIdFor(executionArn: string): string {
  const h = createHash('sha256').update(`fleetwave-compliance:${executionArn}`).digest('hex');
  // RFC 4122 shape (version 8: custom), so it passes uuid validation
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Hosts grouped by compose dir (the document's one parameter), then cut into batches of `size`. */
export function planBatches(hosts: { hostId: string; instanceId: string; fleetId: string; composeDir: string }[], size = MAX_BATCH_SIZE): Batch[] {
  const byDir = new Map<string, Batch['hosts']>();
  for (const h of [...hosts].sort((a, b) => a.composeDir.localeCompare(b.composeDir) || a.hostId.localeCompare(b.hostId))) {
    const list = byDir.get(h.composeDir) ?? [];
    list.push({ hostId: h.hostId, instanceId: h.instanceId, fleetId: h.fleetId });
    byDir.set(h.composeDir, list);
  }
  const batches: Batch[] = [];
  for (const [composeDir, list] of byDir) {
    for (let i = 0; i < list.length; i += size) batches.push({ index: batches.length, composeDir, hosts: list.slice(i, i + size) });
  }
  return batches;
}

// ---------------------------------------------------------------- plan

export const PlanInput = z.object({ request: ComplianceCheckInput, executionArn: z.string().min(1).max(2048) });
export interface PlanOutput {
  checkId: string;
  hostCount: number;
  batchCount: number;
  /** The Map's items: no host ids, so the state stays small whatever the fleet size. */
  batches: { checkId: string; index: number }[];
}

export interface PlanDeps {
  store: ComplianceStore;
  objects: JsonObjects;
  now?: () => number;
}

export async function planCheck(input: z.output<typeof PlanInput>, deps: PlanDeps): Promise<PlanOutput> {
  const { request, executionArn } = input;
  const checkId = checkIdFor(executionArn);
  const existing = await deps.objects.get(keys.plan(checkId), CheckPlan);
  const plan =
    existing ??
    (await (async () => {
      const fleets = request.fleetId ? [await deps.store.getFleet(request.fleetId)] : await deps.store.listFleets();
      const hosts = (await deps.store.listHosts(request.fleetId ? { fleetId: request.fleetId } : {})).filter((h) =>
        fleets.some((f) => f.id === h.fleetId),
      );
      const made: CheckPlan = {
        checkId,
        fleetId: request.fleetId ?? null,
        fleets: fleets.map((f) => ({ fleetId: f.id, desiredVersion: f.desiredVersion, quarantined: hosts.filter((h) => h.fleetId === f.id && h.locked).length })),
        withdrawn: (await deps.store.listReleases())
          .filter((r) => r.withdrawnAt !== null)
          .map((r) => ({ version: r.version, reason: r.withdrawnReason ?? '' })),
        batches: planBatches(hosts.map((h) => ({ hostId: h.id, instanceId: h.instanceId, fleetId: h.fleetId, composeDir: h.composeDir }))),
        startedAt: (deps.now ?? Date.now)(),
      };
      await deps.objects.put(keys.plan(checkId), made);
      return made;
    })());
  const hostCount = plan.batches.reduce((n, b) => n + b.hosts.length, 0);
  await deps.store.createComplianceCheck({ id: checkId, fleetId: plan.fleetId, executionArn, hostCount });
  return { checkId, hostCount, batchCount: plan.batches.length, batches: plan.batches.map((b) => ({ checkId, index: b.index })) };
}

// ---------------------------------------------------------------- send

export const BatchRef = z.object({ checkId: z.string().uuid(), index: z.number().int().min(0).max(100_000) });
export type BatchRef = z.infer<typeof BatchRef>;

export interface SendBatchDeps {
  objects: JsonObjects;
  commands: InventoryCommands;
  documentName: string;
  outputBucket: string;
  deliveryTimeoutSeconds: number;
  maxConcurrency: string;
  maxErrors: string;
  /** Added to delivery + execution time for collect's deadline. */
  graceSeconds?: number;
  now?: () => number;
}

export interface SendBatchOutput {
  checkId: string;
  index: number;
  commandId: string | null;
  sent: number;
  unreachable: number;
}

/** The batch's send record also carries its hosts, so collect never reads the (large) plan. */
const SendRecord = BatchSend.extend({ hosts: z.array(z.object({ hostId: z.string(), instanceId: z.string() })) });
type SendRecord = z.infer<typeof SendRecord>;

const view = (r: SendRecord, checkId: string): SendBatchOutput => ({
  checkId,
  index: r.index,
  commandId: r.commandId,
  sent: r.sentTo.length,
  unreachable: r.unreachable.length,
});

export async function sendBatch(input: z.output<typeof BatchRef>, deps: SendBatchDeps): Promise<SendBatchOutput> {
  const { checkId, index } = input;
  const now = deps.now ?? Date.now;
  const earlier = await deps.objects.get(keys.send(checkId, index), SendRecord);
  if (earlier) return view(earlier, checkId);

  const plan = await deps.objects.get(keys.plan(checkId), CheckPlan);
  if (!plan) throw new CompliancePlanMissingError(checkId);
  const batch = plan.batches[index];
  if (!batch) throw new ComplianceBatchNotFoundError(checkId, index);

  const ids = batch.hosts.map((h) => h.instanceId);
  const ping = await deps.commands.pingStatus(ids);
  const unreachable: SendRecord['unreachable'] = [];
  const online: string[] = [];
  for (const id of ids) {
    const status = ping.get(id);
    if (status === undefined) unreachable.push({ instanceId: id, cause: 'not-managed', message: 'SSM does not know this managed node' });
    else if (status !== 'Online') unreachable.push({ instanceId: id, cause: 'agent-offline', message: `SSM agent ping status ${status}` });
    else online.push(id);
  }

  let commandId: string | null = null;
  if (online.length > 0) {
    const comment = `fleetwave compliance ${checkId} batch ${index}`;
    commandId = await deps.commands.findByComment({
      instanceId: online[0]!,
      comment,
      documentName: deps.documentName,
      invokedAfter: plan.startedAt - 60_000,
    });
    if (!commandId) {
      try {
        commandId = await deps.commands.send({
          documentName: deps.documentName,
          instanceIds: online,
          composeDir: batch.composeDir,
          comment,
          deliveryTimeoutSeconds: deps.deliveryTimeoutSeconds,
          maxConcurrency: deps.maxConcurrency,
          maxErrors: deps.maxErrors,
          outputBucket: deps.outputBucket,
          outputKeyPrefix: OUTPUT_KEY_PREFIX,
        });
      } catch (err) {
        // One unknown id refuses the whole request; the ping check makes this a rare race.
        if (!(err instanceof HostUnreachableError)) throw err;
        for (const id of online.splice(0)) unreachable.push({ instanceId: id, cause: 'not-managed', message: err.message });
      }
    }
  }
  const sentAt = now();
  const record: SendRecord = {
    index,
    commandId,
    sentTo: online,
    unreachable,
    sentAt,
    deadline: sentAt + (deps.deliveryTimeoutSeconds + INVENTORY_EXECUTION_SECONDS + (deps.graceSeconds ?? 60)) * 1000,
    hosts: batch.hosts.map((h) => ({ hostId: h.hostId, instanceId: h.instanceId })),
  };
  await deps.objects.put(keys.send(checkId, index), record);
  return view(record, checkId);
}

// ---------------------------------------------------------------- collect

export interface CollectBatchDeps {
  objects: JsonObjects;
  commands: InventoryCommands;
  now?: () => number;
  /** Parallel GetCommandInvocation calls. */
  concurrency?: number;
}

export interface CollectBatchOutput {
  checkId: string;
  index: number;
  status: 'Pending' | 'Done';
  reached: number;
  unknown: number;
}

const TERMINAL = new Set(['Success', 'Failed', 'TimedOut', 'Cancelled']);
const UNDELIVERED: Record<string, UnknownCause> = {
  DeliveryTimedOut: 'agent-offline',
  Undeliverable: 'undeliverable',
  Terminated: 'undeliverable',
  InvalidPlatform: 'undeliverable',
};

export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/** A host-reported text, cut to what a report or registry row keeps. */
export const clip = (s: string) => (s.length > 500 ? `${s.slice(0, 500)}…` : s);

export async function collectBatch(input: z.output<typeof BatchRef>, deps: CollectBatchDeps): Promise<CollectBatchOutput> {
  const { checkId, index } = input;
  const done = (o: HostObservation[]): CollectBatchOutput => ({
    checkId,
    index,
    status: 'Done',
    reached: o.filter((x) => x.reached).length,
    unknown: o.filter((x) => !x.reached).length,
  });
  const earlier = await deps.objects.get(keys.observations(checkId, index), BatchObservations);
  if (earlier) return done(earlier.observations);
  const sent = await deps.objects.get(keys.send(checkId, index), SendRecord);
  if (!sent) throw new ComplianceBatchNotFoundError(checkId, index);
  const hostOf = new Map(sent.hosts.map((h) => [h.instanceId, h.hostId]));
  const unreached = (instanceId: string, cause: UnknownCause, message: string): HostObservation => ({
    hostId: hostOf.get(instanceId)!,
    instanceId,
    reached: false,
    cause,
    message: clip(redactSecrets(message)),
  });

  const observations: HostObservation[] = sent.unreachable.map((u) => unreached(u.instanceId, u.cause, u.message));
  if (sent.commandId) {
    const commandId = sent.commandId;
    const statuses = new Map((await deps.commands.listInvocations(commandId)).map((s) => [s.instanceId, s]));
    const pending = sent.sentTo.filter((id) => !TERMINAL.has(statuses.get(id)?.status ?? 'Pending'));
    const pastDeadline = (deps.now ?? Date.now)() > sent.deadline;
    if (pending.length > 0 && !pastDeadline) return { checkId, index, status: 'Pending', reached: 0, unknown: 0 };
    if (pending.length > 0) await deps.commands.cancel(commandId).catch(() => undefined);

    const read = await mapLimit(sent.sentTo, deps.concurrency ?? 5, async (instanceId): Promise<HostObservation> => {
      const s = statuses.get(instanceId);
      if (!s || !TERMINAL.has(s.status)) return unreached(instanceId, 'timed-out', `no final status by the deadline (last: ${s?.status ?? 'none'})`);
      const undelivered = UNDELIVERED[s.statusDetails];
      if (undelivered) return unreached(instanceId, undelivered, `the SSM agent did not run the command (${s.statusDetails})`);
      if (s.status === 'TimedOut' || s.status === 'Cancelled') return unreached(instanceId, 'timed-out', `inventory ${s.status} (${s.statusDetails})`);
      const inv = await deps.commands.getInvocation({ commandId, instanceId });
      if (!inv) return unreached(instanceId, 'no-inventory', 'the invocation is not visible');
      let stdout = inv.stdout;
      if (stdout.length >= INLINE_STDOUT_LIMIT) stdout = (await deps.commands.readStdoutTail({ commandId, instanceId, url: inv.stdoutUrl })) ?? stdout;
      const line = parseResultLine(stdout);
      if (s.status !== 'Success' || !line || line.ok !== true) {
        const why = typeof line?.message === 'string' ? line.message : `inventory ended ${s.status}/${s.statusDetails} without a result line`;
        return unreached(instanceId, 'inventory-failed', why);
      }
      const parsed = InventoryResult.safeParse(line);
      if (!parsed.success) return unreached(instanceId, 'inventory-failed', `the inventory result line does not match the contract: ${parsed.error.issues[0]?.message ?? ''}`);
      return { hostId: hostOf.get(instanceId)!, instanceId, reached: true, inventory: parsed.data };
    });
    observations.push(...read);
  }
  await deps.objects.put(keys.observations(checkId, index), { index, observations });
  return done(observations);
}
