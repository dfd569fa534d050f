import assert from 'node:assert/strict';
import { test } from 'node:test';
import QRCode from 'qrcode';
import { totpSetupFrom } from './totp-setup.js';

const URI =
  'otpauth://totp/Airlock:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DP&issuer=Airlock&algorithm=SHA1&digits=6&period=30';

test('the TOTP setup is data: the QR module matrix of exactly the URI, the secret grouped, the label', async () => {
  const r = await totpSetupFrom(URI);
  assert.ok(r.ok, JSON.stringify(r));
  const reference = QRCode.create(URI, { errorCorrectionLevel: 'M' });
  const { size, modules } = r.value.qr;
  assert.equal(size, reference.modules.size);
  assert.equal(modules.length, size);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) assert.equal(modules[y]![x], reference.modules.get(y, x) === 1, `module ${x},${y}`);
  assert.equal(r.value.uri, URI);
  assert.equal(r.value.secret, 'JBSWY3DPEHPK3PXPJBSWY3DP');
  assert.equal(r.value.secretGrouped, 'JBSW Y3DP EHPK 3PXP JBSW Y3DP');
  assert.equal(r.value.label, 'Airlock (alice)');
  // Plain data: it survives a JSON round trip (IPC, WebSocket) unchanged.
  assert.deepEqual(JSON.parse(JSON.stringify(r.value)), r.value);
});

test('a setup link that is not otpauth://totp/ with a base32 secret is refused', async () => {
  for (const bad of [
    'not a uri',
    'otpauth://hotp/Airlock:alice?secret=JBSWY3DPEHPK3PXP',
    'otpauth://totp/x?secret=1!',
  ]) {
    const r = await totpSetupFrom(bad);
    assert.ok(!r.ok, bad);
    assert.equal(r.error.code, 'bad_totp_uri');
  }
});
