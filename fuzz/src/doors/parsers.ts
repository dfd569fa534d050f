import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { formatOneTimeCode, parseOneTimeCode } from '@airlock/shared';
import { parseEnrollmentInput } from '@airlock/connect';
import { decryptKeyFile, encodeKeyFile, encryptKeyFile, parseKeyFile } from '@airlock/shared/key-file';
import { decryptBackup, encryptBackup, parseBackup } from '@airlock/connect/core/identity/key-backup';
import { finding, newStats, outcome, rssMiB, watchStrayErrors, type DoorStats } from '../stats.js';
import { mutateBytes, mutatedBody, nastyString, prng } from '../values.js';

const PIN = `sha256/${randomBytes(32).toString('base64')}`;

/** Runs one parse; a throw (rather than a typed result) is a finding. */
async function parseSafely(stats: DoorStats, what: string, input: unknown, run: () => unknown): Promise<void> {
  stats.inputs++;
  try {
    const r = (await run()) as { ok?: boolean; error?: { code?: string } } | undefined;
    outcome(stats, `${what}: ${r?.ok ? 'ok' : (r?.error?.code ?? 'refused')}`);
  } catch (e) {
    stats.crashes++;
    finding(stats, `${what} threw ${(e as Error).message} for ${JSON.stringify(input).slice(0, 300)}`);
  }
}

/** Text mutations of a valid value: character edits, cuts, splices, and byte-level damage. */
function mutatedText(valid: string, rnd: () => number): string {
  return mutateBytes(Buffer.from(valid), rnd).toString('utf8');
}

/**
 * What Connect parses from outside: enrollment codes (`u1.…`, `a1.…`, with the relay URL) and
 * its key and backup files. In-process: each input must come back as a typed result.
 */
export async function fuzzParsers(inputs: number, seed: number): Promise<DoorStats> {
  const stats = newStats('Connect parsers (codes, key and backup files)');
  const stopWatching = watchStrayErrors(stats);
  stats.rssStartMiB = rssMiB();
  const rnd = prng(seed);
  const privateKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const password = 'correct horse';
  // The cheapest work factor the format allows: the fuzzer is after the parser, not scrypt.
  const { file: keyFile } = await encryptKeyFile(privateKey, password, { N: 2 ** 14 });
  const keyText = encodeKeyFile(keyFile);
  const backupText = await encryptBackup(
    privateKey,
    {
      relayUrl: 'https://relay.example:7443',
      relayPin: PIN,
      user: 'alice',
      deviceId: '6f1f0a5e-1d7c-4a5e-9a3e-2f2c1b0a9d8e',
    },
    password,
    { N: 2 ** 14 },
  );
  const userCode = formatOneTimeCode('user', randomBytes(32).toString('base64url'), PIN);
  const agentCode = formatOneTimeCode('agent', randomBytes(32).toString('base64url'), PIN);
  const urls = fc.oneof(
    { weight: 3, arbitrary: fc.constant('https://relay.example:7443') },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'https://127.0.0.1:1',
        'http://x',
        'https://[::1]:7443/',
        'ftp://x',
        'https://user:pw@host/',
        '',
      ),
    },
    { weight: 1, arbitrary: nastyString },
  );
  const codeSamples = fc.sample(
    fc.tuple(fc.constantFrom(userCode, agentCode), urls, fc.nat(), nastyString, fc.boolean()),
    { numRuns: Math.ceil(inputs * 0.4), seed },
  );
  for (const [code, url, n, noise, useNoise] of codeSamples) {
    const mutated = useNoise && n % 3 === 0 ? noise : mutatedText(code, rnd);
    await parseSafely(stats, 'enrollment input', [url, mutated], () => parseEnrollmentInput(url, mutated));
    await parseSafely(stats, 'one-time code', mutated, () => parseOneTimeCode(mutated, n % 2 ? 'user' : 'agent'));
  }
  const files = Math.ceil(inputs * 0.1);
  const keyObject = JSON.parse(keyText) as Record<string, unknown>;
  const backupObject = JSON.parse(backupText) as Record<string, unknown>;
  const structured = (base: Record<string, unknown>) =>
    fc.oneof(
      mutatedBody(base).map((v) => JSON.stringify(v) ?? ''),
      fc
        .constantFrom(...Object.keys(base))
        .chain((k) =>
          typeof base[k] === 'object' && base[k] !== null
            ? mutatedBody(base[k] as Record<string, unknown>).map((v) => JSON.stringify({ ...base, [k]: v }))
            : fc.constant(JSON.stringify(base)),
        ),
    );
  for (const text of fc.sample(structured(keyObject), { numRuns: files, seed })) {
    const t = rnd() < 0.3 ? mutatedText(text, rnd) : text;
    await parseSafely(stats, 'key file', t, async () => {
      const parsed = parseKeyFile(t);
      return parsed.ok ? decryptKeyFile(parsed.value, password) : parsed;
    });
  }
  for (const text of fc.sample(structured(backupObject), { numRuns: files, seed: seed + 1 })) {
    const t = rnd() < 0.3 ? mutatedText(text, rnd) : text;
    await parseSafely(stats, 'backup file', t, async () => {
      const parsed = parseBackup(t);
      return parsed.ok ? decryptBackup(parsed.value, password) : parsed;
    });
  }
  await new Promise((r) => setTimeout(r, 20));
  stopWatching();
  stats.rssEndMiB = rssMiB();
  return stats;
}
