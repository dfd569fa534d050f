import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatOneTimeCode, parseOneTimeCode } from '../enrollment-code.js';
import { newSecret } from '../secrets.js';
import { mintServerCertificate } from './mint.js';
import { certThumbprint, curlPin, pinsEqual, spkiPin, tlsPinSchema } from './pin.js';

const sh = (script: string, file: string) =>
  execFileSync('sh', ['-c', script, 'sh', file], { encoding: 'utf8' }).trim();

test('pin and thumbprint equal what openssl computes for the same certificate', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-pin-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { certPem } = await mintServerCertificate({ commonName: 'relay', dnsNames: ['localhost'] });
  const file = join(dir, 'cert.pem');
  await writeFile(file, certPem);

  const opensslPin = sh(
    'openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64',
    file,
  );
  const opensslThumb = sh(
    `openssl x509 -in "$1" -outform der | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '='`,
    file,
  );
  assert.equal(spkiPin(certPem), `sha256/${opensslPin}`);
  assert.equal(certThumbprint(certPem), opensslThumb);
});

test('PEM text, PEM bytes, DER bytes and a parsed certificate give the same pin and thumbprint', async () => {
  const { certPem } = await mintServerCertificate({ commonName: 'relay' });
  const x509 = new X509Certificate(certPem);
  for (const input of [certPem, Buffer.from(certPem), x509.raw, x509]) {
    assert.equal(spkiPin(input), spkiPin(certPem));
    assert.equal(certThumbprint(input), certThumbprint(certPem));
  }
  assert.ok(tlsPinSchema.safeParse(spkiPin(certPem)).success);
  assert.match(certThumbprint(certPem), /^[A-Za-z0-9_-]{43}$/);
});

test('a certificate re-issued for the same key keeps the pin but not the thumbprint', async () => {
  const first = await mintServerCertificate({ commonName: 'relay' });
  const renewed = await mintServerCertificate({ commonName: 'relay', keyPem: first.keyPem });
  assert.equal(spkiPin(renewed.certPem), spkiPin(first.certPem));
  assert.notEqual(certThumbprint(renewed.certPem), certThumbprint(first.certPem));
});

test('the pin survives the trip through an enrollment code', async () => {
  const pin = spkiPin((await mintServerCertificate({ commonName: 'relay' })).certPem);
  const parsed = parseOneTimeCode(formatOneTimeCode('user', newSecret(), pin), 'user');
  assert.ok(parsed.ok);
  assert.equal(parsed.value.pin, pin);
});

test('people see the pin in curl --pinnedpubkey form; either form is read back as the stored one', async () => {
  const pin = spkiPin((await mintServerCertificate({ commonName: 'relay' })).certPem);
  const shown = curlPin(pin);
  assert.equal(shown, pin.replace('sha256/', 'sha256//'));
  assert.equal(curlPin(shown), shown, 'already in curl form: unchanged');
  assert.equal(tlsPinSchema.parse(shown), pin, 'a pasted sha256//… pin is stored as sha256/…');
  assert.equal(tlsPinSchema.parse(pin), pin);
  for (const bad of ['sha256///' + pin.slice(7), 'sha1/' + pin.slice(7), shown.slice(0, -2)])
    assert.equal(tlsPinSchema.safeParse(bad).success, false, bad);
});

test('a pin whose base64 starts with "/" keeps it in both forms', () => {
  const pin = 'sha256/' + Buffer.concat([Buffer.from([0xfc]), Buffer.alloc(31, 7)]).toString('base64');
  assert.match(pin, /^sha256\/\//, 'the base64 starts with a slash');
  assert.equal(curlPin(pin), 'sha256//' + pin.slice(7));
  assert.equal(curlPin(curlPin(pin)), curlPin(pin));
  assert.equal(tlsPinSchema.parse(pin), pin);
  assert.equal(tlsPinSchema.parse(curlPin(pin)), pin);
});

test('pinsEqual', () => {
  const a = 'sha256/' + Buffer.alloc(32, 1).toString('base64');
  const b = 'sha256/' + Buffer.alloc(32, 2).toString('base64');
  assert.equal(pinsEqual(a, a), true);
  assert.equal(pinsEqual(a, b), false);
  assert.equal(pinsEqual(a, a.slice(0, -1)), false);
  assert.equal(pinsEqual(a, ''), false);
});
