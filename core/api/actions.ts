/**
 * What every action of the operator API shares: the audit entry naming the
 * authenticated caller (written when the action is taken, so a start the
 * workflow later refuses is on record too), and the checks made before a
 * workflow starts.
 */
import type { RegistryStore } from '../registry/store';
import { actorOf, type Caller } from './caller';
import { ApiError } from './http';

export async function auditAction(
  store: Pick<RegistryStore, 'appendAudit'>,
  caller: Caller,
  action: string,
  about: { hostId?: string; rolloutId?: string },
  details: Record<string, unknown>,
): Promise<void> {
  await store.appendAudit({ actor: actorOf(caller), action, ...about, details: { ...details, via: caller.kind === 'iam' ? 'api' : 'console' } });
}

export async function requireRelease(store: Pick<RegistryStore, 'getRelease'>, version: string): Promise<void> {
  if (!(await store.getRelease(version))) throw new ApiError('invalid-input', `version: ${version} is not in the release catalog`, { fields: ['version'] });
}
