/** `AuditStore` in memory, for unit tests; behaves like PgAuditStore (contract: test/registry/contract). */
import { HostId, RolloutId } from '../../models';
import { asJson, Limit, parse, Uuid } from '../fields';
import { redactDeep } from '../../redact';
import { AppendAuditInput, type AuditEntry, type AuditStore, type ListAuditFilter } from './audit-store';

export class InMemoryAuditStore implements AuditStore {
  readonly #entries: AuditEntry[] = [];
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  async appendAudit(input: AppendAuditInput): Promise<AuditEntry> {
    const a = parse(AppendAuditInput, input, 'audit entry');
    const entry: AuditEntry = {
      id: this.#entries.length + 1,
      at: this.#now(),
      actor: a.actor,
      action: a.action,
      hostId: a.hostId ?? null,
      rolloutId: a.rolloutId ?? null,
      runId: a.runId ?? null,
      details: asJson(redactDeep(a.details)),
    };
    this.#entries.push(entry);
    return structuredClone(entry);
  }

  async listAudit(filter: ListAuditFilter = {}): Promise<AuditEntry[]> {
    const limit = parse(Limit, filter.limit ?? 100, 'limit');
    const hostId = filter.hostId === undefined ? null : parse(HostId, filter.hostId, 'host id');
    const runId = filter.runId === undefined ? null : parse(Uuid, filter.runId, 'run id');
    const rolloutId = filter.rolloutId === undefined ? null : parse(RolloutId, filter.rolloutId, 'rollout id');
    return this.#entries
      .filter((e) => (hostId === null || e.hostId === hostId) && (runId === null || e.runId === runId) && (rolloutId === null || e.rolloutId === rolloutId))
      .reverse()
      .slice(0, limit)
      .map((e) => structuredClone(e));
  }
}
