/**
 * One object answering the methods of several aggregate stores, for callers
 * that use many aggregates (a host run touches hosts, leases, runs, backups
 * and the audit log) and so take one dependency instead of eight. Each method
 * is the aggregate store's own, bound to it: there is one implementation per
 * table, whichever way a caller reaches it.
 */

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
export type Combined<T extends readonly object[]> = UnionToIntersection<T[number]>;

/** Every method of `store`, own or inherited (not its constructor), bound to it. */
function methodsOf(store: object): Map<string, (...args: unknown[]) => unknown> {
  const methods = new Map<string, (...args: unknown[]) => unknown>();
  for (let o: object | null = store; o && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const key of Object.getOwnPropertyNames(o)) {
      const value = (store as Record<string, unknown>)[key];
      if (key === 'constructor' || methods.has(key) || typeof value !== 'function') continue;
      methods.set(key, (value as (...args: unknown[]) => unknown).bind(store));
    }
  }
  return methods;
}

/**
 * Copies every store's methods onto `target`. Two stores with a method of the
 * same name would make one silently win: refused here, at construction.
 */
export function combineStores<T extends readonly object[]>(target: object, stores: T): Combined<T> {
  for (const store of stores) {
    for (const [name, method] of methodsOf(store)) {
      if (name in target) throw new Error(`registry stores overlap: more than one defines ${name}`);
      Object.defineProperty(target, name, { value: method, enumerable: false });
    }
  }
  return target as Combined<T>;
}
