/** combineStores: how PgRegistryStore (and the in-memory registry of the unit tests) is put together. */
import { describe, expect, it } from 'vitest';
import { combineStores } from '../../core/registry/combine';

class Counter {
  #n = 0;
  async add(by: number): Promise<number> {
    this.#n += by;
    return this.#n;
  }
}

describe('combineStores', () => {
  it("calls each method on its own store, with that store's state", async () => {
    const one = new Counter();
    const combined = combineStores({}, [one, { hello: async () => 'hi' }]);

    await combined.add(2);

    expect(await one.add(1)).toBe(3);
    expect(await combined.hello()).toBe('hi');
  });

  it('refuses two stores that define the same method', () => {
    expect(() => combineStores({}, [new Counter(), new Counter()])).toThrow(/more than one defines add/);
  });
});
