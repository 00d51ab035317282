/**
 * The fleets port: fleets and their hosts (configuration, the version each
 * host was last seen running, the operator quarantine, and retirement). A
 * host's lease lives in the leases port; only its counter (`leaseSeq`) is
 * shown here.
 *
 * Retired hosts (`retiredAt` set: `fleet apply` no longer lists them) keep
 * their runs, backups and audit trail and are still found by `getHost`, but
 * the ordinary listing leaves them out: `listHosts({fleetId})` is the fleet as
 * it is now, what rollouts and compliance checks work on.
 */
import { z } from 'zod';
import { ComposeDir, DatabaseMode, FleetId, HealthUrl, HostId, InstanceId, Tier, Version } from '../../models';
import { Actor, JsonObject } from '../fields';

export const UpsertFleetInput = z.object({
  id: FleetId,
  appProfile: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/).default('semaphor'),
  /** undefined keeps the stored value; null clears it. */
  desiredVersion: Version.nullable().optional(),
  config: JsonObject.default({}),
});
export type UpsertFleetInput = z.input<typeof UpsertFleetInput>;

export interface Fleet {
  id: string;
  appProfile: string;
  desiredVersion: string | null;
  config: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export const UpsertHostInput = z.object({
  id: HostId,
  fleetId: FleetId,
  instanceId: InstanceId,
  tier: Tier,
  databaseMode: DatabaseMode,
  composeDir: ComposeDir,
  healthUrl: HealthUrl,
  wave: z.number().int().min(0).max(1000).nullable().optional(),
});
export type UpsertHostInput = z.input<typeof UpsertHostInput>;

export interface Host {
  id: string;
  fleetId: string;
  instanceId: string;
  tier: Tier;
  databaseMode: DatabaseMode;
  composeDir: string;
  healthUrl: string;
  /** The wave the fleet file pins the host to, if any. */
  wave: number | null;
  observedVersion: string | null;
  observedAt: number | null;
  /** Quarantined (ROLLBACK_FAILED): no lease is granted until an operator unlocks it. */
  locked: boolean;
  lockedReason: string | null;
  /** Last lease token handed out for this host. */
  leaseSeq: number;
  /** When `fleet apply` stopped listing the host; null while it is part of its fleet. */
  retiredAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** A fleet file as the registry takes it: the fleet and every host it has now. */
export const ApplyFleetInput = z.object({
  fleet: UpsertFleetInput,
  hosts: z.array(UpsertHostInput).max(100_000),
  actor: Actor,
});
export type ApplyFleetInput = z.input<typeof ApplyFleetInput>;

/** The host fields a fleet file sets (what `changed` names). */
export const HOST_FIELDS = ['instanceId', 'tier', 'databaseMode', 'composeDir', 'healthUrl', 'wave'] as const;

/** What applying a fleet file did (or, in a dry run, would do). */
export interface FleetChanges {
  fleetId: string;
  /** `created`: a new fleet; `changed`: its settings (`settings` names them); `unchanged`. */
  fleet: 'created' | 'changed' | 'unchanged';
  settings: string[];
  added: string[];
  changed: { hostId: string; fields: string[] }[];
  /** In the registry's fleet, not in the file: retired (history kept). */
  retired: string[];
  /** Retired before, in the file again: active once more. */
  reinstated: string[];
  unchanged: number;
}

/** Why a fleet file cannot be applied as it stands; `hostId` names the host, `field` its field when it is in the file. */
export interface FleetProblem {
  hostId: string;
  field: 'id' | 'instanceId' | null;
  message: string;
}

export interface FleetStore {
  upsertFleet(input: UpsertFleetInput): Promise<Fleet>;
  /** @throws FleetNotFoundError */
  getFleet(fleetId: string): Promise<Fleet>;
  listFleets(): Promise<Fleet[]>;
  /** @throws FleetNotFoundError */
  setDesiredVersion(fleetId: string, version: string | null): Promise<Fleet>;

  /** Creates or updates a host's configuration (a retired host is active again); never touches observed version, lock or lease state. For fixtures: operators use applyFleet. */
  upsertHost(input: UpsertHostInput): Promise<Host>;
  /** @throws HostNotFoundError */
  getHost(hostId: string): Promise<Host>;
  /** Active hosts (a fleet as it is now); `includeRetired` adds the retired ones. */
  listHosts(filter?: { fleetId?: string; includeRetired?: boolean }): Promise<Host[]>;
  /**
   * Make the fleet what the file says, in one transaction: the fleet's
   * settings, its hosts added, changed or reinstated, and the hosts it no
   * longer lists retired; audited (fleet.applied, and host.added / changed /
   * retired / reinstated per host). Nothing is written when anything is refused.
   * @throws FleetApplyRefusedError naming each host that cannot be applied (another fleet's host or
   *         instance, or a host to retire while a run holds its lease)
   */
  applyFleet(input: ApplyFleetInput): Promise<FleetChanges>;
  /** `null` when the host runs no single version (mixed or stopped). @throws HostNotFoundError */
  recordObservedVersion(hostId: string, version: string | null): Promise<Host>;
  /** Quarantine a host (ROLLBACK_FAILED). Audited. @throws HostNotFoundError */
  lockHost(hostId: string, reason: string, actor?: string): Promise<Host>;
  /**
   * Lift the quarantine. Audited with the operator as actor and the reason.
   * @throws HostNotFoundError
   * @throws HostLockedError while a run holds the host's lease (unlocking under a running run would hide what it does)
   */
  unlockHost(hostId: string, actor: string, reason?: string): Promise<Host>;
}
