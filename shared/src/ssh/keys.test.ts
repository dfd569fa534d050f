import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { SshAlgorithms } from '@microsoft/dev-tunnels-ssh';
import { sshFingerprintFromPem } from '../fingerprint.js';
import { keyFingerprint, sshKeyPairFromPrivateKey } from './keys.js';

for (const [namedCurve, algorithm] of [
  ['P-256', 'ecdsaSha2Nistp256'],
  ['P-384', 'ecdsaSha2Nistp384'],
] as const) {
  test(`a ${namedCurve} user key becomes an SSH key pair that is the same key and signs with it`, async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve });
    const pair = await sshKeyPairFromPrivateKey(privateKey);
    assert.equal(pair.keyAlgorithmName, `ecdsa-sha2-nistp${namedCurve.slice(2)}`);
    // The public half, as the relay knows the key (its SPKI), is the one the pair presents.
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
  });
}

test('a key SSH cannot use for the user is refused with what it is', async () => {
  await assert.rejects(
    sshKeyPairFromPrivateKey(generateKeyPairSync('ed25519').privateKey),
    /not an EC private key on a curve SSH supports \(OKP Ed25519\)/,
  );
  await assert.rejects(
    sshKeyPairFromPrivateKey(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey),
    /not an EC private key on a curve SSH supports \(EC secp256k1\)/,
  );
  await assert.rejects(
    sshKeyPairFromPrivateKey(createPublicKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey)),
    /not an EC private key/,
  );
});
