import type { RelayStore } from '../store/types.js';

const AREAS = [
  'users',
  'loginLockouts',
  'devices',
  'vms',
  'agentCredentials',
  'grants',
  'codes',
  'pendingEnrollments',
  'apiClients',
  'sessions',
  'audit',
  'agentPresence',
  'revocations',
  'sourceReleases',
  'sourceLists',
  'org',
] as const satisfies readonly (keyof RelayStore)[];

/**
 * The same store, with the time of every operation reported per area (`sessions`, `audit`…)
 * for the store-latency histogram. Only the async methods of the sub-stores are wrapped; the
 * object passed on is otherwise the store itself (probe, close and any extra fields).
 */
export function timedStore<S extends RelayStore>(store: S, observe: (area: string, seconds: number) => void): S {
  const wrapped = new Map<string, object>();
  for (const area of AREAS) {
    const target = store[area] as object;
    wrapped.set(
      area,
      new Proxy(target, {
        get(t, prop, receiver) {
          const value: unknown = Reflect.get(t, prop, receiver);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            const started = performance.now();
            const done = () => observe(area, (performance.now() - started) / 1000);
            const result: unknown = (value as (...a: unknown[]) => unknown).apply(t, args);
            if (result instanceof Promise) return result.finally(done);
            done();
            return result;
          };
        },
      }),
    );
  }
  return new Proxy(store, {
    get(t, prop, receiver) {
      if (typeof prop === 'string' && wrapped.has(prop)) return wrapped.get(prop);
      const value: unknown = Reflect.get(t, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(t) : value;
    },
  });
}
