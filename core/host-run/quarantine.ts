/**
 * Quarantine, the one way a run leaves a host nobody can vouch for: locked
 * with the reason, and the operator paged with what to do. Used by finish-run
 * (rollback-failed) and by the reconcile of executions that ended unfinished.
 */
import type { AlertSink } from '../alerts';
import type { RegistryStore } from '../registry/store';

/** Lock the host with `reason`; false when this same reason already holds it (a retry pages no one twice). */
export async function quarantineHost(store: Pick<RegistryStore, 'getHost' | 'lockHost'>, hostId: string, reason: string, actor: string): Promise<boolean> {
  const text = reason.slice(0, 1000);
  if ((await store.getHost(hostId)).lockedReason === text) return false;
  await store.lockHost(hostId, text, actor);
  return true;
}

export interface QuarantineAlert {
  hostId: string;
  runId: string;
  rolloutId: string | null;
  execution: string;
  message: string;
  [field: string]: unknown;
}

/** Page the operator about a quarantined host: `event` names what happened (ROLLBACK_FAILED, RUN_UNFINISHED). */
export async function alertQuarantined(alerts: AlertSink, event: string, alert: QuarantineAlert): Promise<void> {
  await alerts.publish(`fleetwave: ${event} on ${alert.hostId}`, {
    event,
    ...alert,
    action: `the host is quarantined; inspect it (fleetwave host show ${alert.hostId}), restore by hand if needed, then fleetwave host unlock --host ${alert.hostId} --reason "what was done"`,
  });
}
