import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { REDACTED, SecretScrubber } from './secret-scrubber.js';

const privatePem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
  type: 'pkcs8',
  format: 'pem',
}) as string;
const opaque = randomBytes(24).toString('base64');

test('known secrets go wherever they are: whole, JSON-escaped, or a PEM line on its own', () => {
  const s = new SecretScrubber([privatePem, opaque, 'short']);
  const body = privatePem.split('\n')[1]!;
  assert.equal(s.text(`key ${privatePem.trim()} and ${opaque}`), `key ${REDACTED} and ${REDACTED}`);
  assert.equal(s.text(`{"k":${JSON.stringify(`x${privatePem}`)}}`).includes(body), false);
  assert.equal(s.text(`a line cut from it: ${body}`), `a line cut from it: ${REDACTED}`);
  assert.equal(
    s.text('short stays: too short to be told from chance'),
    'short stays: too short to be told from chance',
  );
  assert.deepEqual(s.leaks(`left ${opaque}`), [opaque]);
  assert.deepEqual(s.leaks(s.text(`left ${opaque}`)), []);
});

test('values under secret-named keys are redacted at any depth; the rest stays', () => {
  const s = new SecretScrubber([]);
  const sid = '5c0e8a1e-4bd3-4f55-9a0d-1d8e2f6b7c90';
  const doc = {
    sid,
    msg: 'relay call',
    req: { headers: { Authorization: 'Basic abc' }, params: { password: 'pw', accessToken: 'x' } },
    list: [{ clientKeyPem: 'k' }, { vm: 'lab-vm-01' }],
    ok: true,
    expired: null,
  };
  assert.deepEqual(s.json(doc), {
    sid,
    msg: 'relay call',
    req: { headers: { Authorization: REDACTED }, params: { password: REDACTED, accessToken: REDACTED } },
    list: [{ clientKeyPem: REDACTED }, { vm: 'lab-vm-01' }],
    ok: true,
    expired: null,
  });
});

test('secret-shaped text goes under any key or none; ids, pins, fingerprints and error codes stay', () => {
  const s = new SecretScrubber([]);
  const jwt = `eyJhbGciOiJFUzI1NiJ9.${Buffer.from('{"sub":"alice"}').toString('base64url')}.c2lnbmF0dXJlLWJ5dGVz`;
  for (const secret of [
    privatePem,
    privatePem.slice(0, 80),
    jwt,
    'Bearer abc.def',
    'otpauth://totp/Airlock:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DP&issuer=Airlock',
    'u1.' + 'a'.repeat(22) + '.' + 'b'.repeat(43),
    'JBSWY3DPEHPK3PXPJBSWY3DP',
    'JBSW Y3DP EHPK 3PXP JBSW Y3DP',
  ])
    assert.equal(s.text(`found: ${secret} end`).includes(secret), false, secret);
  const innocent =
    'sid 5c0e8a1e-4bd3-4f55-9a0d-1d8e2f6b7c90 pin sha256//RUEmtoc72kcKbkBSggWmyqDd9TjhujaP6vbXMszkS7Y= ' +
    'key SHA256:wmvHT1ULnmvCcEdt7Qx+plrULXqWfKm5uaUpOR8AOZ8 error ERR_TLS_CERT_ALTNAME_INVALID ECONNREFUSED';
  assert.equal(s.text(innocent), innocent);
});

test('learned: a value seen under a secret-named key goes from everywhere else too, but not a time', () => {
  const s = new SecretScrubber([]);
  const password = 'correct horse battery staple';
  const expiry = '2026-11-30T10:00:00.000Z';
  s.learnLine(JSON.stringify({ msg: 'set', params: { password, repeat: password }, tokenExpiresAt: expiry }));
  // Lower case: only learning finds it (the base32 shape is upper case).
  s.learnLine(`not JSON: otpauth://totp/A:alice?secret=mfrggzdfmztwq2lk&issuer=A`);
  s.learn({ password: REDACTED, secret: 'tiny' });
  assert.equal(
    s.line(JSON.stringify({ params: { repeat: password } })),
    JSON.stringify({ params: { repeat: REDACTED } }),
  );
  assert.equal(s.text(`typed ${password} twice`), `typed ${REDACTED} twice`);
  assert.equal(s.text('the secret mfrggzdfmztwq2lk'), `the secret ${REDACTED}`);
  assert.equal(s.text(`login until ${expiry}`), `login until ${expiry}`);
  assert.equal(s.text('[redacted] and tiny stay'), '[redacted] and tiny stay');
  assert.deepEqual(s.leaks(`x ${password}`), [password]);
});
