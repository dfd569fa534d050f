import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { mintClientCertificate, mintServerCertificate } from './mint.js';
import { certThumbprint } from './pin.js';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

test('server certificate: RSA-3072, self-signed, SANs, serverAuth, backdated, random serial', async (t) => {
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
  assert.equal(x.publicKey.asymmetricKeyDetails?.modulusLength, 3072);
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

test('client certificate: RSA-2048, clientAuth, ttl, 5 minutes of skew, thumbprint and public key', async (t) => {
  const started = performance.now();
  const c = await mintClientCertificate({ commonName: 'alice', ttlSeconds: 1800 });
  t.diagnostic(`mintClientCertificate took ${(performance.now() - started).toFixed(0)} ms`);
  const x = new X509Certificate(c.certPem);
  assert.equal(x.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
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

test('bad options are refused before any key is made', async () => {
  await assert.rejects(mintClientCertificate({ commonName: '', ttlSeconds: 1800 }));
  await assert.rejects(mintClientCertificate({ commonName: 'a', ttlSeconds: 1 }));
  await assert.rejects(mintServerCertificate({ commonName: 'r', ipAddresses: ['not-an-ip'] }));
});

test('timing: ten of each', { skip: !process.env.AIRLOCK_TLS_TIMING }, async (t) => {
  for (const [name, mint] of [
    ['server (RSA-3072)', () => mintServerCertificate({ commonName: 'r', dnsNames: ['localhost'] })],
    ['client (RSA-2048)', () => mintClientCertificate({ commonName: 'a', ttlSeconds: 600 })],
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
