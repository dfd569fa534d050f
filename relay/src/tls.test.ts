import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintServerCertificate, spkiPin } from '@airlock/shared';
import { loadOrCreateRelayTls, loadRelayTlsFromFiles, RelayTlsError } from './tls.js';

async function scratch(t: { after(fn: () => Promise<void>): void }) {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-relay-tls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const mode = async (path: string) => (await stat(path)).mode & 0o777;

test('mints once with the right modes and names, then reuses the same key and pin', async (t) => {
  const dataDir = await scratch(t);
  const first = await loadOrCreateRelayTls(dataDir, { hostnames: ['relay.example.org', '10.1.2.3'] });
  assert.equal(first.created, true);
  assert.equal(first.certPath, join(dataDir, 'tls', 'relay-cert.pem'));
  assert.equal(first.keyPath, join(dataDir, 'tls', 'relay-key.pem'));
  assert.equal(await mode(join(dataDir, 'tls')), 0o700);
  assert.equal(await mode(first.keyPath), 0o600);
  assert.equal(await mode(first.certPath), 0o644);
  const x = new X509Certificate(first.certPem);
  assert.equal(first.pin, spkiPin(x));
  assert.equal(x.subject, 'CN=relay.example.org');
  for (const name of ['DNS:localhost', 'DNS:relay.example.org', 'IP Address:127.0.0.1', 'IP Address:10.1.2.3'])
    assert.ok(x.subjectAltName?.includes(name), `${name} in ${x.subjectAltName}`);
  assert.ok(x.subjectAltName?.includes('IP Address:0:0:0:0:0:0:0:1'));

  const second = await loadOrCreateRelayTls(dataDir, { hostnames: ['other.example.org'] });
  assert.equal(second.created, false);
  assert.equal(second.pin, first.pin);
  assert.equal(second.keyPem, first.keyPem);
  assert.equal(second.certPem, first.certPem);
});

test('a tls folder left open to others is closed to 0700', async (t) => {
  const dataDir = await scratch(t);
  await mkdir(join(dataDir, 'tls'), { mode: 0o755 });
  await loadOrCreateRelayTls(dataDir);
  assert.equal(await mode(join(dataDir, 'tls')), 0o700);
});

test('a lone key or a lone certificate in the data dir is reported, not silently replaced', async (t) => {
  const dataDir = await scratch(t);
  const created = await loadOrCreateRelayTls(dataDir);
  await rm(created.certPath);
  await assert.rejects(
    loadOrCreateRelayTls(dataDir),
    (e: unknown) =>
      e instanceof RelayTlsError && /relay-key\.pem exists but .*relay-cert\.pem does not/.test(e.message),
  );
});

test('a damaged stored key is reported with its path', async (t) => {
  const dataDir = await scratch(t);
  const created = await loadOrCreateRelayTls(dataDir);
  await writeFile(created.keyPath, 'garbage');
  await assert.rejects(
    loadOrCreateRelayTls(dataDir),
    (e: unknown) => e instanceof RelayTlsError && e.message.includes(created.keyPath),
  );
});

test('an institution certificate and its key load; bad files give clear errors', async (t) => {
  const dir = await scratch(t);
  const issued = await mintServerCertificate({ commonName: 'relay.uni.example', dnsNames: ['relay.uni.example'] });
  const stranger = await mintServerCertificate({ commonName: 'someone-else' });
  const file = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };
  const cert = await file('cert.pem', issued.certPem + stranger.certPem); // leaf followed by "chain"
  const key = await file('key.pem', issued.keyPem);
  const loaded = await loadRelayTlsFromFiles(cert, key);
  assert.equal(loaded.pin, spkiPin(issued.certPem));
  assert.equal(loaded.created, false);
  assert.equal(loaded.certPath, cert);

  const expectError = (p: Promise<unknown>, pattern: RegExp) =>
    assert.rejects(p, (e: unknown) => e instanceof RelayTlsError && pattern.test(e.message));
  await expectError(
    loadRelayTlsFromFiles(join(dir, 'nope.pem'), key),
    /TLS certificate file .*nope\.pem does not exist/,
  );
  await expectError(
    loadRelayTlsFromFiles(cert, join(dir, 'nope.pem')),
    /TLS private key file .*nope\.pem does not exist/,
  );
  await expectError(loadRelayTlsFromFiles(dir, key), /is a directory/);
  await expectError(loadRelayTlsFromFiles(await file('junk.pem', 'hello'), key), /does not hold a PEM certificate/);
  await expectError(loadRelayTlsFromFiles(cert, await file('junk-key.pem', 'hello')), /unencrypted PEM private key/);
  await expectError(
    loadRelayTlsFromFiles(cert, await file('other-key.pem', stranger.keyPem)),
    /private key in .*other-key\.pem does not belong to the certificate in .*cert\.pem/,
  );
  // A matching pair that OpenSSL's security level refuses (what createServer would throw later).
  const weakKey = generateKeyPairSync('rsa', { modulusLength: 512 }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  });
  const weak = await mintServerCertificate({ commonName: 'relay', keyPem: weakKey.toString() });
  await expectError(
    loadRelayTlsFromFiles(await file('weak-cert.pem', weak.certPem), await file('weak-key.pem', weak.keyPem)),
    /OpenSSL refuses the certificate in .*weak-cert\.pem with the key in .*weak-key\.pem \(.*key too small\); use an RSA key of at least 2048 bits/,
  );
});
