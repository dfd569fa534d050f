import fc from 'fast-check';

/** Strings a parser should survive: empty, huge, control characters, unicode, markup, paths. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 64 }),
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\r\n',
    '../../../etc/passwd',
    '%00',
    '%zz',
    '__proto__',
    'constructor',
    '\ud800',
    '😀'.repeat(40),
    'A'.repeat(300),
    'x'.repeat(70_000),
    '1e308',
    '-0',
    'NaN',
    'true',
    'null',
    '<script>',
    "' OR 1=1 --",
    'SSH-2.0-x\r\n',
  ),
);

/** Any JSON value, plus shapes that stress parsers: deep nesting, big arrays, prototype keys. */
export const nastyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 2, arbitrary: nastyString },
  {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>(
      null,
      0,
      -1,
      2 ** 31,
      2 ** 32 - 1,
      2 ** 53,
      Number.MAX_VALUE,
      -Number.MAX_VALUE,
      1.5,
      [],
      {},
      { __proto__: { admin: true } },
      JSON.parse('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}'),
      Array.from({ length: 10_000 }, (_, i) => i),
      nest(2_000),
    ),
  },
);

function nest(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** Mutations of a valid example object: what a schema-aware fuzzer tries field by field. */
export function mutatedBody(example: Record<string, unknown>): fc.Arbitrary<unknown> {
  const keys = Object.keys(example);
  const field = keys.length ? fc.constantFrom(...keys) : fc.constant('x');
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(example) },
    { weight: 4, arbitrary: fc.tuple(field, nastyJson).map(([k, v]) => ({ ...example, [k]: v })) },
    {
      weight: 2,
      arbitrary: field.map((k) => {
        const copy = { ...example };
        delete copy[k];
        return copy;
      }),
    },
    { weight: 1, arbitrary: fc.tuple(nastyString, nastyJson).map(([k, v]) => ({ ...example, [k]: v })) },
    { weight: 1, arbitrary: fc.tuple(field, field).map(([a, b]) => ({ ...example, [a]: example[b] })) },
    { weight: 2, arbitrary: nastyJson },
  );
}

/** Bytes a mutation fuzzer derives from a real message: flips, cuts, splices, length fields. */
export function mutateBytes(base: Buffer, rnd: () => number): Buffer {
  const b = Buffer.from(base);
  const pos = () => Math.floor(rnd() * Math.max(1, b.length));
  switch (Math.floor(rnd() * 9)) {
    case 0: // flip bits
      for (let i = 0; i < 1 + Math.floor(rnd() * 4); i++) if (b.length) b[pos()]! ^= 1 << Math.floor(rnd() * 8);
      return b;
    case 1: // interesting byte
      if (b.length) b[pos()] = [0, 0x7f, 0x80, 0xff, 1][Math.floor(rnd() * 5)]!;
      return b;
    case 2: // interesting uint32 (length fields, counts)
      if (b.length >= 4)
        b.writeUInt32BE(
          [0, 1, 0x7fffffff, 0xffffffff, 0x10000, b.length][Math.floor(rnd() * 6)]!,
          pos() % (b.length - 3),
        );
      return b;
    case 3: // truncate
      return b.subarray(0, pos());
    case 4: {
      // duplicate a slice
      const at = pos();
      return Buffer.concat([b.subarray(0, at), b.subarray(at, at + 1 + Math.floor(rnd() * 64)), b.subarray(at)]);
    }
    case 5: {
      // insert random bytes
      const at = pos();
      const junk = Buffer.alloc(1 + Math.floor(rnd() * 32));
      for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(rnd() * 256);
      return Buffer.concat([b.subarray(0, at), junk, b.subarray(at)]);
    }
    case 6: {
      // delete a slice
      const at = pos();
      return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + Math.floor(rnd() * 16))]);
    }
    case 7: // append garbage
      return Buffer.concat([b, Buffer.alloc(1 + Math.floor(rnd() * 512), Math.floor(rnd() * 256))]);
    default: // random bytes of the same length
      for (let i = 0; i < b.length; i++) b[i] = Math.floor(rnd() * 256);
      return b;
  }
}

/** A small seeded PRNG (xorshift32), so a mutation run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

/** Lone surrogates replaced (encodeURIComponent refuses them); ES2024's toWellFormed. */
export function wellFormed(s: string): string {
  return (s as string & { toWellFormed(): string }).toWellFormed();
}
