/** `FleetStore` in memory, for unit tests; behaves like PgFleetStore (contract: test/registry/contract). */
import { Version } from '../../models';
import type { AuditStore } from '../audit/audit-store';
import { DuplicateInstanceError, FleetApplyRefusedError, FleetNotFoundError, HostNotFoundError } from '../errors';
import { Actor, asJson, FreeText, parse, SYSTEM_ACTOR } from '../fields';
import { redactSecrets } from '../../redact';
import { auditEntriesOf, planFleetChanges } from './changes';
import { ApplyFleetInput, UpsertFleetInput, UpsertHostInput, type Fleet, type FleetChanges, type FleetStore, type Host } from './fleet-store';

export class InMemoryFleetStore implements FleetStore {
  readonly #fleets = new Map<string, Fleet>();
  readonly #hosts = new Map<string, Host>();
  readonly #audit: AuditStore;
  readonly #now: () => number;

  /** `audit` receives the host lock and unlock entries, as PgFleetStore writes them to audit_log. */
  constructor(options: { audit: AuditStore; now?: () => number }) {
    this.#audit = options.audit;
    this.#now = options.now ?? Date.now;
  }

  async upsertFleet(input: UpsertFleetInput): Promise<Fleet> {
    const f = parse(UpsertFleetInput, input, 'fleet');
    const now = this.#now();
    const before = this.#fleets.get(f.id);
    const fleet: Fleet = {
      id: f.id,
      appProfile: f.appProfile,
      desiredVersion: f.desiredVersion !== undefined ? f.desiredVersion : (before?.desiredVersion ?? null),
      config: asJson(f.config),
      createdAt: before?.createdAt ?? now,
      updatedAt: now,
    };
    this.#fleets.set(f.id, fleet);
    return structuredClone(fleet);
  }

  async getFleet(fleetId: string): Promise<Fleet> {
    return structuredClone(this.#fleet(fleetId));
  }

  async listFleets(): Promise<Fleet[]> {
    return [...this.#fleets.values()].sort((a, b) => compare(a.id, b.id)).map((f) => structuredClone(f));
  }

  async setDesiredVersion(fleetId: string, version: string | null): Promise<Fleet> {
    const v = parse(Version.nullable(), version, 'desired version');
    const fleet = this.#fleet(fleetId);
    Object.assign(fleet, { desiredVersion: v, updatedAt: this.#now() });
    return structuredClone(fleet);
  }

  async upsertHost(input: UpsertHostInput): Promise<Host> {
    const h = parse(UpsertHostInput, input, 'host');
    if ([...this.#hosts.values()].some((other) => other.id !== h.id && other.retiredAt === null && other.instanceId === h.instanceId)) {
      throw new DuplicateInstanceError(h.instanceId, h.id);
    }
    if (!this.#fleets.has(h.fleetId)) throw new FleetNotFoundError(h.fleetId);
    const now = this.#now();
    const before = this.#hosts.get(h.id);
    const host: Host = {
      id: h.id,
      fleetId: h.fleetId,
      instanceId: h.instanceId,
      tier: h.tier,
      databaseMode: h.databaseMode,
      composeDir: h.composeDir,
      healthUrl: h.healthUrl,
      wave: h.wave !== undefined ? h.wave : (before?.wave ?? null),
      observedVersion: before?.observedVersion ?? null,
      observedAt: before?.observedAt ?? null,
      locked: before?.locked ?? false,
      lockedReason: before?.lockedReason ?? null,
      leaseSeq: before?.leaseSeq ?? 0,
      retiredAt: null,
      createdAt: before?.createdAt ?? now,
      updatedAt: now,
    };
    this.#hosts.set(h.id, host);
    return structuredClone(host);
  }

  async getHost(hostId: string): Promise<Host> {
    return structuredClone(this.#host(hostId));
  }

  async listHosts(filter: { fleetId?: string; includeRetired?: boolean } = {}): Promise<Host[]> {
    // fleet, then pinned wave (unpinned last), then id: PgFleetStore's ORDER BY
    return [...this.#hosts.values()]
      .filter((h) => (filter.fleetId === undefined || h.fleetId === filter.fleetId) && (filter.includeRetired || h.retiredAt === null))
      .sort((a, b) => compare(a.fleetId, b.fleetId) || (a.wave ?? Infinity) - (b.wave ?? Infinity) || compare(a.id, b.id))
      .map((h) => structuredClone(h));
  }

  async applyFleet(input: ApplyFleetInput): Promise<FleetChanges> {
    const a = parse(ApplyFleetInput, input, 'fleet');
    // no leases in memory: none can be held
    const plan = planFleetChanges({ fleet: this.#fleets.get(a.fleet.id) ?? null, hosts: [...this.#hosts.values()], leases: new Map() }, a.fleet, a.hosts);
    if (plan.problems.length > 0) throw new FleetApplyRefusedError(a.fleet.id, plan.problems);
    await this.upsertFleet(a.fleet);
    const now = this.#now();
    for (const id of plan.retire) Object.assign(this.#host(id), { retiredAt: now, updatedAt: now });
    for (const h of plan.upsert) await this.upsertHost(h);
    for (const entry of auditEntriesOf(plan, a.actor)) await this.#audit.appendAudit(entry);
    return plan.changes;
  }

  async recordObservedVersion(hostId: string, version: string | null): Promise<Host> {
    const v = parse(Version.nullable(), version, 'observed version');
    const host = this.#host(hostId);
    const now = this.#now();
    Object.assign(host, { observedVersion: v, observedAt: now, updatedAt: now });
    return structuredClone(host);
  }

  async lockHost(hostId: string, reason: string, actor: string = SYSTEM_ACTOR): Promise<Host> {
    const why = redactSecrets(parse(FreeText, reason, 'lock reason'));
    const who = parse(Actor, actor, 'actor');
    const host = this.#host(hostId);
    Object.assign(host, { locked: true, lockedReason: why, updatedAt: this.#now() });
    await this.#audit.appendAudit({ actor: who, action: 'host.locked', hostId, details: { reason: why } });
    return structuredClone(host);
  }

  async unlockHost(hostId: string, actor: string, reason?: string): Promise<Host> {
    const who = parse(Actor, actor, 'actor');
    const why = reason === undefined ? null : redactSecrets(parse(FreeText, reason, 'unlock reason'));
    const host = this.#host(hostId); // no leases in memory: none can be held
    const details = { wasLocked: host.locked, previousReason: host.lockedReason, reason: why };
    Object.assign(host, { locked: false, lockedReason: null, updatedAt: this.#now() });
    await this.#audit.appendAudit({ actor: who, action: 'host.unlocked', hostId, details });
    return structuredClone(host);
  }

  #fleet(fleetId: string): Fleet {
    const fleet = this.#fleets.get(fleetId);
    if (!fleet) throw new FleetNotFoundError(fleetId);
    return fleet;
  }

  #host(hostId: string): Host {
    const host = this.#hosts.get(hostId);
    if (!host) throw new HostNotFoundError(hostId);
    return host;
  }
}

/** Byte order, like the C collation the ids' lower-case slugs sort the same under. */
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
