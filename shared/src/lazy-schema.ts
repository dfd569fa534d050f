/**
 * A value (a zod schema) built the first time anything touches it, and the same object from then on.
 *
 * Why: zod builds each schema when its module loads, and cold, before V8 has compiled zod's own
 * code, a schema costs tens of µs. A short command loads the modules that define a schema it needs
 * and so builds every other schema in them too: `airlock exec` built ~600 and used a few dozen,
 * ~25 ms of a command that takes ~350 ms (README, Performance). Wrapped, a schema costs nothing
 * until it is used: parsed with, embedded in another schema that is parsed with, or inspected.
 *
 * The stand-in forwards every kind of access to the built value (properties, methods, `in`,
 * `instanceof`, keys, prototype), so code that uses the schema cannot tell it apart, and its type
 * is the built value's type. Only identity differs (the stand-in is not `===` the built schema);
 * nothing of ours compares schemas by identity.
 */
export function lazySchema<T extends object>(build: () => T): T {
  let built: T | undefined;
  const value = (): T => (built ??= build());
  return new Proxy(Object.create(null) as T, {
    // The built object as receiver: zod's getters read their own instance's fields.
    get: (_target, key) => Reflect.get(value(), key),
    set: (_target, key, v) => Reflect.set(value(), key, v),
    has: (_target, key) => Reflect.has(value(), key),
    ownKeys: () => Reflect.ownKeys(value()),
    // The stand-in's own target is empty: a proxy may report a property its target lacks only
    // as configurable, so the built value's descriptor is handed out as configurable.
    getOwnPropertyDescriptor: (_target, key) => {
      const d = Reflect.getOwnPropertyDescriptor(value(), key);
      return d && { ...d, configurable: true };
    },
    defineProperty: (_target, key, d) => Reflect.defineProperty(value(), key, d),
    deleteProperty: (_target, key) => Reflect.deleteProperty(value(), key),
    getPrototypeOf: () => Reflect.getPrototypeOf(value()),
  });
}
