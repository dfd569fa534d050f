import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { test } from 'node:test';
import { SshAlgorithms } from '@microsoft/dev-tunnels-ssh';
import { sshFingerprintFromPem } from '../fingerprint.js';
import { keyFingerprint, sshKeyPairFromPrivateKey } from './keys.js';

/** The pair is the same key (its public half as the relay knows it) and signs with it. */
async function assertSameKeyThatSigns(privateKey: KeyObject, algorithm: string, keyAlgorithmName: string) {
  const pair = await sshKeyPairFromPrivateKey(privateKey);
  assert.equal(pair.keyAlgorithmName, keyAlgorithmName);
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
  assert.equal(await keyFingerprint(pair), sshFingerprintFromPem(spki));

  // The private half matches it: a signature checks out against a key built from the public bytes alone.
  const alg = SshAlgorithms.publicKey[algorithm]!;
  const data = Buffer.from('session identifier');
  const signature = await alg.createSigner(pair).sign(data);
  const publicOnly = alg.createKeyPair();
  await publicOnly.setPublicKeyBytes((await pair.getPublicKeyBytes())!);
  assert.equal(await alg.createVerifier(publicOnly).verify(data, signature), true);
  assert.equal(await alg.createVerifier(publicOnly).verify(Buffer.from('something else'), signature), false);
}

for (const [namedCurve, algorithm] of [
  ['P-256', 'ecdsaSha2Nistp256'],
  ['P-384', 'ecdsaSha2Nistp384'],
  ['P-521', 'ecdsaSha2Nistp521'],
] as const) {
  test(`a ${namedCurve} user key becomes an SSH key pair that is the same key and signs with it`, async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve });
    await assertSameKeyThatSigns(privateKey, algorithm, `ecdsa-sha2-nistp${namedCurve.slice(2)}`);
  });
}

test('a key whose coordinates or secret begin with a zero byte keeps it (fixed-size fields)', async () => {
  // About one P-256 key in 85 has one; found by drawing keys, not by luck within one draw.
  let key: KeyObject | undefined;
  for (let i = 0; i < 20_000 && !key; i++) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = privateKey.export({ format: 'jwk' });
    if ([jwk.x, jwk.y, jwk.d].some((v) => Buffer.from(v!, 'base64url')[0] === 0)) key = privateKey;
  }
  assert.ok(key, 'no key with a leading zero byte in 20 000 draws');
  await assertSameKeyThatSigns(key, 'ecdsaSha2Nistp256', 'ecdsa-sha2-nistp256');
});

test('an RSA user key (logins before stop 20 made RSA-2048 ones) becomes an SSH key pair that signs', async () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await assertSameKeyThatSigns(privateKey, 'rsaWithSha512', 'ssh-rsa');
});

test('a key SSH cannot use for the user is refused with what it is', async () => {
  await assert.rejects(
    sshKeyPairFromPrivateKey(generateKeyPairSync('ed25519').privateKey),
    /^Error: SSH cannot sign with this user key \(ed25519\): use ECDSA P-256, P-384 or P-521, or RSA$/,
  );
  await assert.rejects(
    sshKeyPairFromPrivateKey(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey),
    /^Error: SSH cannot sign with this user key \(ec secp256k1\)/,
  );
  await assert.rejects(
    sshKeyPairFromPrivateKey(createPublicKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey)),
    /the user key must be a private key, not a public one/,
  );
});
