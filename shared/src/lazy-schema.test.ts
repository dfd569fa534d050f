import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as z from 'zod';
import { lazySchema } from './lazy-schema.js';

test('a lazy schema is built on first use, once, and not before', () => {
  let builds = 0;
  const Name = lazySchema(() => {
    builds++;
    return z.string().min(2, 'too short');
  });
  assert.equal(builds, 0, 'defining it builds nothing');
  assert.equal(Name.parse('ab'), 'ab');
  assert.equal(Name.safeParse('a').success, false);
  assert.equal(builds, 1, 'built once for every later use');
});

test('a lazy schema behaves as the schema it stands for, inside other schemas too', () => {
  const Port = lazySchema(() => z.number().int().min(1).max(65535));
  const Target = lazySchema(() => z.object({ host: z.string(), port: Port }).strict());
  assert.deepEqual(Target.parse({ host: 'vm', port: 22 }), { host: 'vm', port: 22 });
  const bad = Target.safeParse({ host: 'vm', port: 0, extra: 1 });
  assert.equal(bad.success, false);
  // The same issues, paths and messages as without the stand-in.
  const plain = z.object({ host: z.string(), port: z.number().int().min(1).max(65535) }).strict();
  assert.deepEqual(bad.error.issues, plain.safeParse({ host: 'vm', port: 0, extra: 1 }).error?.issues);

  // Methods that derive new schemas, and inspection.
  const Wider = Target.extend({ user: z.string() });
  assert.deepEqual(Wider.parse({ host: 'vm', port: 1, user: 'u' }), { host: 'vm', port: 1, user: 'u' });
  assert.deepEqual(Object.keys(Target.shape), ['host', 'port']);
  assert.equal(Port.optional().parse(undefined), undefined);
  assert.ok(Target instanceof z.ZodObject);
  assert.ok('parse' in Port);
  assert.equal(Object.getPrototypeOf(Port), Object.getPrototypeOf(z.number()));
});

test('a lazy schema in a discriminated union and an array', () => {
  const A = lazySchema(() => z.object({ kind: z.literal('a'), n: z.number() }));
  const B = lazySchema(() => z.object({ kind: z.literal('b'), s: z.string() }));
  const Either = lazySchema(() => z.array(z.discriminatedUnion('kind', [A, B])).max(2));
  assert.deepEqual(Either.parse([{ kind: 'b', s: 'x' }]), [{ kind: 'b', s: 'x' }]);
  assert.equal(Either.safeParse([{ kind: 'c' }]).success, false);
  assert.equal(
    Either.safeParse([
      { kind: 'a', n: 1 },
      { kind: 'a', n: 2 },
      { kind: 'a', n: 3 },
    ]).success,
    false,
  );
});

test('a build that throws throws at the first use, and again at the next (nothing half-built is kept)', () => {
  let builds = 0;
  const Broken = lazySchema((): z.ZodString => {
    builds++;
    throw new Error('bug in the schema');
  });
  assert.throws(() => Broken.parse('x'), /bug in the schema/);
  assert.throws(() => Broken.parse('x'), /bug in the schema/);
  assert.equal(builds, 2);
});
