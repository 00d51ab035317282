/**
 * What every action of the operator API shares: the audit entry naming the
 * authenticated caller (written when the action is taken, so a start the
 * workflow later refuses is on record too), and the checks made before a
 * workflow starts.
 */
import type { RegistryStore } from '../registry/store';
import { actorOf, type Caller } from './caller';
import { ApiError } from './http';
import { upgradeTarget } from '../release-catalog';

export async function auditAction(
  store: Pick<RegistryStore, 'appendAudit'>,
  caller: Caller,
  action: string,
  about: { hostId?: string; rolloutId?: string },
  details: Record<string, unknown>,
): Promise<void> {
  await store.appendAudit({ actor: actorOf(caller), action, ...about, details: { ...details, via: caller.kind === 'iam' ? 'api' : 'console' } });
}

/** The one rule every upgrade path asks (core/release-catalog.ts): in the catalog and not withdrawn; the catalog's spelling. */
export async function requireRelease(store: Pick<RegistryStore, 'getRelease'>, version: string): Promise<string> {
  try {
    return (await upgradeTarget(store, version)).version;
  } catch (err) {
    throw new ApiError('invalid-input', (err as Error).message, { fields: ['version'] });
  }
}
