import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mintClientCertificate, mintServerCertificate } from './mint.js';
import { certThumbprint } from './pin.js';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

test('server certificate: ECDSA P-256, self-signed, SANs, serverAuth, backdated, random serial', async (t) => {
  const started = performance.now();
  const a = await mintServerCertificate({
    commonName: 'relay.example.org',
    dnsNames: ['relay.example.org', 'localhost'],
    ipAddresses: ['127.0.0.1', '::1'],
    days: 30,
  });
  t.diagnostic(`mintServerCertificate took ${(performance.now() - started).toFixed(0)} ms`);
  const b = await mintServerCertificate({ commonName: 'relay.example.org' });
  const x = new X509Certificate(a.certPem);
  assert.equal(x.publicKey.asymmetricKeyType, 'ec');
  assert.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.ok(x.checkPrivateKey(createPrivateKey(a.keyPem)));
  assert.ok(x.verify(x.publicKey), 'self-signed');
  assert.equal(x.subject, 'CN=relay.example.org');
  assert.equal(x.issuer, x.subject);
  assert.equal(
    x.subjectAltName,
    'DNS:relay.example.org, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
  );
  assert.deepEqual(x.keyUsage, [SERVER_AUTH]);
  assert.equal(x.ca, false);
  const now = Date.now();
  const from = Date.parse(x.validFrom);
  const to = Date.parse(x.validTo);
  assert.ok(from < now - 60_000 && from > now - 10 * 60_000, `notBefore ${x.validFrom} a few minutes back`);
  assert.ok(Math.abs(to - (now + 30 * 86_400_000)) < 60_000, `notAfter ${x.validTo} in 30 days`);
  assert.notEqual(x.serialNumber, new X509Certificate(b.certPem).serialNumber);
  assert.match(a.keyPem, /^-----BEGIN PRIVATE KEY-----/);
});

test('client certificate: ECDSA P-256, clientAuth, ttl, 5 minutes of skew, thumbprint and public key', async (t) => {
  const started = performance.now();
  const c = await mintClientCertificate({ commonName: 'alice', ttlSeconds: 1800 });
  t.diagnostic(`mintClientCertificate took ${(performance.now() - started).toFixed(0)} ms`);
  const x = new X509Certificate(c.certPem);
  assert.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.ok(x.checkPrivateKey(createPrivateKey(c.keyPem)));
  assert.ok(x.verify(x.publicKey));
  assert.deepEqual(x.keyUsage, [CLIENT_AUTH]);
  assert.equal(x.subjectAltName, undefined);
  assert.equal(c.thumbprint, certThumbprint(x));
  assert.ok(createPublicKey(c.publicKeyPem).equals(x.publicKey));
  const now = Date.now();
  assert.equal(Date.parse(x.validTo), c.notAfter.getTime());
  assert.ok(Math.abs(c.notAfter.getTime() - (now + 1_800_000)) < 5_000);
  assert.ok(Math.abs(Date.parse(x.validFrom) - (now - 300_000)) < 5_000);
});

/** What OpenSSL itself reads in a certificate: the fields Node's X509Certificate does not show. */
function opensslText(certPem: string): string {
  return execFileSync('openssl', ['x509', '-noout', '-text'], { input: certPem }).toString();
}

test('OpenSSL reads the certificate as X.509 wants it: the algorithms, key usage and key identifier', async () => {
  const { certPem } = await mintServerCertificate({ commonName: 'relay.example.org' });
  const text = opensslText(certPem);
  // Both AlgorithmIdentifiers (inside and outside the signed part) name ECDSA with SHA-256.
  assert.equal(text.match(/Signature Algorithm: ecdsa-with-SHA256/g)?.length, 2, text);
  assert.match(text, /Public Key Algorithm: id-ecPublicKey[\s\S]*NIST CURVE: P-256/);
  assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature\n/);
  assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
  // RFC 5280 method 1: SHA-1 of the public key's bits (the uncompressed point, 65 bytes).
  const point = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' }).subarray(-65);
  const ski = createHash('sha1').update(point).digest('hex').toUpperCase().match(/../g)!.join(':');
  assert.match(text, new RegExp(`X509v3 Subject Key Identifier:\\s+${ski}`));
});

test('an existing RSA key is re-issued as RSA (sha256WithRSAEncryption), so its pin stays', async () => {
  const keyPem = generateKeyPairSync('rsa', { modulusLength: 2048 })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
  const { certPem } = await mintServerCertificate({ commonName: 'relay', keyPem });
  const x = new X509Certificate(certPem);
  assert.ok(x.checkPrivateKey(createPrivateKey(keyPem)));
  assert.ok(x.verify(x.publicKey));
  const text = opensslText(certPem);
  assert.equal(text.match(/Signature Algorithm: sha256WithRSAEncryption/g)?.length, 2, text);
  assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment/);
  const ed = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  await assert.rejects(mintServerCertificate({ commonName: 'relay', keyPem: ed }), /must be ECDSA P-256 or RSA/);
});

test('bad options are refused before any key is made', async () => {
  await assert.rejects(mintClientCertificate({ commonName: '', ttlSeconds: 1800 }));
  await assert.rejects(mintClientCertificate({ commonName: 'a', ttlSeconds: 1 }));
  await assert.rejects(mintServerCertificate({ commonName: 'r', ipAddresses: ['not-an-ip'] }));
});

test('timing: ten of each', { skip: !process.env.AIRLOCK_TLS_TIMING }, async (t) => {
  for (const [name, mint] of [
    ['server (ECDSA P-256)', () => mintServerCertificate({ commonName: 'r', dnsNames: ['localhost'] })],
    ['client (ECDSA P-256)', () => mintClientCertificate({ commonName: 'a', ttlSeconds: 600 })],
  ] as const) {
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const s = performance.now();
      await mint();
      times.push(performance.now() - s);
    }
    times.sort((p, q) => p - q);
    t.diagnostic(
      `${name}: median ${times[5]!.toFixed(0)} ms, min ${times[0]!.toFixed(0)}, max ${times[9]!.toFixed(0)}`,
    );
  }
});
