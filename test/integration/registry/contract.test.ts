/** The registry contract (test/support/contracts/registry.ts) against PostgreSQL. */
import { afterAll } from 'vitest';
import { registryContract } from '../../support/contracts/registry';
import { openRegistry, type Registry } from './fixtures';

let reg: Registry | undefined;
afterAll(async () => {
  await reg?.close();
});

registryContract('PostgreSQL', async () => {
  reg = await openRegistry();
  return reg.store;
});
