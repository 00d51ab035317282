/** The registry contract (test/support/contracts/registry.ts) against the in-memory adapters. */
import { registryContract } from '../support/contracts/registry';
import { memoryRegistry } from '../support/memory-registry';

registryContract('in memory', async () => memoryRegistry());
