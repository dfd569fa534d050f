import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { spkiPemFromPrivateKey } from '../spki.js';
import {
  decryptKeyFile,
  decryptWithUnlockKey,
  encodeKeyFile,
  encryptKeyFile,
  parseKeyFile,
  type KeyFile,
} from './key-file.js';
import { DEFAULT_SCRYPT_N, deriveUnlockKey } from './sealed-box.js';

const FAST = { N: 2 ** 14 };
const newKey = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

function reparse(file: KeyFile): KeyFile {
  const parsed = parseKeyFile(encodeKeyFile(file));
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return parsed.value;
}

test('round trip: the file parses, has the documented shape, and opens with the password', async () => {
  const key = newKey();
  const { file, unlockKey } = await encryptKeyFile(key, 'correct horse', FAST);
  const json = JSON.parse(encodeKeyFile(file)) as Record<string, unknown>;
  assert.deepEqual(Object.keys(json).sort(), ['cipher', 'ciphertext', 'format', 'kdf', 'publicKeyPem', 'version']);
  assert.equal(json.format, 'airlock-key');
  assert.equal(json.version, 1);
  assert.deepEqual(Object.keys(json.kdf as object).sort(), ['N', 'check', 'name', 'p', 'r', 'salt']);
  assert.equal(file.kdf.name, 'scrypt');
  assert.equal(file.cipher.name, 'aes-256-gcm');
  assert.equal(Buffer.from(file.cipher.iv, 'base64').length, 12);
  assert.equal(file.publicKeyPem, spkiPemFromPrivateKey(key));
  // No private key material in clear.
  const der = key.export({ type: 'pkcs8', format: 'der' });
  assert.ok(!Buffer.from(encodeKeyFile(file)).includes(der.subarray(-32)));

  const opened = await decryptKeyFile(reparse(file), 'correct horse');
  assert.ok(opened.ok);
  assert.deepEqual(opened.value.privateKey.export({ type: 'pkcs8', format: 'der' }), der);
  assert.deepEqual(opened.value.unlockKey, unlockKey);
  // The unlock key alone opens it (what the keychain caches), and it is derived, not the password.
  assert.equal(unlockKey.length, 32);
  assert.deepEqual(await deriveUnlockKey('correct horse', file.kdf), unlockKey);
  assert.ok(decryptWithUnlockKey(file, unlockKey).ok);
});

test('wrong password is a typed result, not an exception', async () => {
  const { file } = await encryptKeyFile(newKey(), 'correct horse', FAST);
  const r = await decryptKeyFile(file, 'wrong horse');
  assert.deepEqual(r, { ok: false, error: { code: 'wrong_password', message: 'wrong password' } });
  assert.equal(decryptWithUnlockKey(file, Buffer.alloc(32)).ok, false);
});

test('same password twice gives different salt, IV and ciphertext', async () => {
  const key = newKey();
  const a = await encryptKeyFile(key, 'correct horse', FAST);
  const b = await encryptKeyFile(key, 'correct horse', FAST);
  assert.notEqual(a.file.kdf.salt, b.file.kdf.salt);
  assert.notEqual(a.file.cipher.iv, b.file.cipher.iv);
  assert.notEqual(a.file.ciphertext, b.file.ciphertext);
  assert.notDeepEqual(a.unlockKey, b.unlockKey);
});

test('tampering with the ciphertext or any header field is detected', async () => {
  const { file, unlockKey } = await encryptKeyFile(newKey(), 'correct horse', FAST);
  const other = await encryptKeyFile(newKey(), 'correct horse', FAST);
  const flip = (b64: string) => {
    const b = Buffer.from(b64, 'base64');
    b[0]! ^= 1;
    return b.toString('base64');
  };
  const variants: Array<[string, KeyFile]> = [
    ['ciphertext', { ...file, ciphertext: flip(file.ciphertext) }],
    ['tag', { ...file, cipher: { ...file.cipher, tag: flip(file.cipher.tag) } }],
    ['iv', { ...file, cipher: { ...file.cipher, iv: flip(file.cipher.iv) } }],
    ['public key swapped', { ...file, publicKeyPem: other.file.publicKeyPem }],
    ['ciphertext swapped', { ...file, ciphertext: other.file.ciphertext, cipher: other.file.cipher }],
  ];
  for (const [what, tampered] of variants) {
    const r = decryptWithUnlockKey(reparse(tampered), unlockKey);
    assert.ok(!r.ok, what);
    assert.equal(r.error.code, 'tampered', what);
    assert.match(r.error.message, /damaged or altered/);
  }
  // KDF fields feed the key derivation: a change means the password no longer opens the file.
  for (const kdf of [
    { ...file.kdf, salt: flip(file.kdf.salt) },
    { ...file.kdf, N: 2 ** 15 },
  ]) {
    const r = await decryptKeyFile(reparse({ ...file, kdf }), 'correct horse');
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'wrong_password');
  }
  // A forged check value makes the file unopenable, never opens it with a wrong key.
  const forged = decryptWithUnlockKey(
    reparse({ ...file, kdf: { ...file.kdf, check: flip(file.kdf.check) } }),
    unlockKey,
  );
  assert.ok(!forged.ok);
});

test('corrupt, foreign, unencrypted and newer files are clear errors', async () => {
  const { file } = await encryptKeyFile(newKey(), 'correct horse', FAST);
  const text = encodeKeyFile(file);
  const cases: Array<[string, string, RegExp]> = [
    ['not json', 'key_file_corrupt', /not valid JSON/],
    [JSON.stringify({ format: 'something-else', version: 1 }), 'key_file_corrupt', /not an Airlock key file/],
    [
      text.replace('"version": 1', '"version": 2'),
      'key_file_unsupported',
      /version 2 is not supported.*upgrade Airlock/,
    ],
    [text.replace('"aes-256-gcm"', '"chacha20"'), 'key_file_corrupt', /damaged: cipher\.name/],
    [text.replace(/"N": \d+/, '"N": 1000'), 'key_file_corrupt', /damaged: kdf\.N: N must be a power of two/],
    [text.replace(/"N": \d+/, `"N": ${2 ** 24}`), 'key_file_corrupt', /kdf\.N/],
    [
      newKey().export({ type: 'pkcs8', format: 'pem' }).toString(),
      'key_file_unencrypted',
      /unencrypted PEM private key/,
    ],
  ];
  for (const [input, code, message] of cases) {
    const r = parseKeyFile(input);
    assert.ok(!r.ok, input.slice(0, 40));
    assert.equal(r.error.code, code);
    assert.match(r.error.message, message);
  }
});

test('the default scrypt cost (N=2^17, r=8, p=1) runs within Node memory limits in interactive time', async (t) => {
  const started = performance.now();
  const { file } = await encryptKeyFile(newKey(), 'correct horse');
  const ms = performance.now() - started;
  t.diagnostic(`scrypt N=2^17 r=8 p=1 derive+encrypt: ${ms.toFixed(0)} ms`);
  assert.equal(file.kdf.N, DEFAULT_SCRYPT_N);
  assert.equal(DEFAULT_SCRYPT_N, 2 ** 17);
  assert.ok(ms < 10_000);
  assert.ok((await decryptKeyFile(file, 'correct horse')).ok);
});
