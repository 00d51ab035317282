/** The lab's releases are the vendor's file plus how each behaves: the file's word matches the behaviour. */
import { describe, expect, it } from 'vitest';
import vendor from '../../../releases/semaphor.json';
import { CATALOG } from '../../../lab/hosts/catalog';

describe('lab catalog', () => {
  it('simulates exactly the releases of the vendor file the product ships', () => {
    expect(CATALOG.map((r) => r.version)).toEqual(vendor.releases.map((r) => r.version));
  });

  it('calls a release destructive exactly when its simulated schema sync drops something', () => {
    for (const r of CATALOG) expect(r.destructive, r.version).toBe(r.changes.some((c) => c.kind === 'drop-column'));
  });
});
