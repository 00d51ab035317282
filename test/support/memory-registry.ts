/**
 * The registry aggregates that have an in-memory adapter, combined like
 * PgRegistryStore combines the PostgreSQL ones: for unit tests (no I/O).
 */
import { InMemoryAuditStore } from '../../core/registry/audit/memory-audit-store';
import { combineStores } from '../../core/registry/combine';
import { InMemoryFleetStore } from '../../core/registry/fleets/memory-fleet-store';
import { InMemoryReleaseStore } from '../../core/registry/releases/memory-release-store';
import { InMemoryRolloutStore } from '../../core/registry/rollouts/memory-rollout-store';
import type { AuditStore, FleetStore, ReleaseStore, RolloutStore } from '../../core/registry/store';

export type MemoryRegistry = FleetStore & ReleaseStore & AuditStore & RolloutStore;

export function memoryRegistry(options: { now?: () => number } = {}): MemoryRegistry {
  const audit = new InMemoryAuditStore(options);
  const fleets = new InMemoryFleetStore({ ...options, audit });
  return combineStores({}, [audit, fleets, new InMemoryReleaseStore({ ...options, audit }), new InMemoryRolloutStore({ ...options, fleets })]);
}
