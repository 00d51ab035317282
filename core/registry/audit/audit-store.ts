/** The audit log port: an append-only trail of who did what (the table refuses UPDATE and DELETE). */
import { z } from 'zod';
import { HostId, RolloutId } from '../../models';
import { Actor, JsonObject } from '../fields';

export const AppendAuditInput = z.object({
  actor: Actor,
  action: z.string().regex(/^[a-z][a-z0-9.-]{0,63}$/, { message: 'audit action must look like host.locked' }),
  hostId: HostId.nullable().optional(),
  rolloutId: RolloutId.nullable().optional(),
  runId: z.string().uuid().nullable().optional(),
  details: JsonObject.default({}),
});
export type AppendAuditInput = z.input<typeof AppendAuditInput>;

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  hostId: string | null;
  rolloutId: string | null;
  runId: string | null;
  details: Record<string, unknown>;
}

export interface ListAuditFilter {
  hostId?: string;
  runId?: string;
  rolloutId?: string;
  /** Newest first; default 100, at most 1000. */
  limit?: number;
}

export interface AuditStore {
  /** Credentials in `details` are redacted before they are stored. */
  appendAudit(input: AppendAuditInput): Promise<AuditEntry>;
  /** Newest first. */
  listAudit(filter?: ListAuditFilter): Promise<AuditEntry[]>;
}
