import assert from 'node:assert/strict';
import { test } from 'node:test';
import QRCode from 'qrcode';
import { renderTotpSetup } from './totp-display.js';

const URI =
  'otpauth://totp/Airlock:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DP&issuer=Airlock&algorithm=SHA1&digits=6&period=30';

/** Reads the half-block drawing back into dark/light modules (row y, column x). */
function modulesFromDrawing(qr: string, size: number): boolean[][] {
  // eslint-disable-next-line no-control-regex
  const lines = qr.replace(/\x1b\[[0-9;]*m/g, '').split('\n');
  const grid: boolean[][] = [];
  for (let y = 0; y < size; y++) {
    // After the padding line, line L draws rows 2L-1 (upper half) and 2L (lower half); after the
    // two padding columns, column c draws x = c - 1.
    const line = [...(lines[1 + Math.floor((y + 1) / 2)] ?? '')].slice(2);
    const upper = (y + 1) % 2 === 0;
    grid.push(
      Array.from({ length: size }, (_, x) => {
        const ch = line[x + 1];
        return ch === '█' || (upper ? ch === '▀' : ch === '▄');
      }),
    );
  }
  return grid;
}

test('the terminal QR code encodes exactly the otpauth URI; secret and URI are also given as text', async () => {
  const r = await renderTotpSetup(URI);
  assert.ok(r.ok, JSON.stringify(r));
  const setup = r.value;
  const reference = QRCode.create(URI, { errorCorrectionLevel: 'M' });
  const size = reference.modules.size;
  const expected = Array.from({ length: size }, (_, y) =>
    Array.from({ length: size }, (_, x) => reference.modules.get(y, x) === 1),
  );
  assert.deepEqual(modulesFromDrawing(setup.drawing, size), expected);
  // Half blocks: two module rows per line, so it fits a normal terminal; a light quiet zone around.
  const lines = setup.drawing.trimEnd().split('\n');
  assert.equal(lines.length, Math.ceil((size + 2) / 2) + 2);
  // eslint-disable-next-line no-control-regex
  const visible = lines.map((l) => [...l.replace(/\x1b\[[0-9;]*m/g, '')]);
  assert.ok(visible.every((l) => l.length === size + 6));
  assert.ok(visible[0]!.every((c) => c === ' ') && visible.every((l) => l.slice(0, 2).join('') === '  '));

  assert.equal(setup.secret, 'JBSWY3DPEHPK3PXPJBSWY3DP');
  assert.equal(setup.secretGrouped, 'JBSW Y3DP EHPK 3PXP JBSW Y3DP');
  assert.equal(setup.label, 'Airlock (alice)');
  assert.ok(setup.text.includes(setup.drawing.trimEnd()));
  assert.match(setup.text, /^Scan this QR code with your authenticator app:/);
  assert.ok(setup.text.includes(`  Secret:  JBSW Y3DP EHPK 3PXP JBSW Y3DP\n`));
  assert.ok(setup.text.includes(`  URI:     ${URI}\n`));
  assert.ok(setup.text.includes('  Account: Airlock (alice)\n'));
});

test('anything but an otpauth://totp URI with a base32 secret is refused', async () => {
  for (const bad of [
    'not a uri',
    'https://example.org/?secret=JBSWY3DPEHPK3PXP',
    'otpauth://hotp/Airlock:alice?secret=JBSWY3DPEHPK3PXP',
    'otpauth://totp/Airlock:alice?secret=not-base32!!',
    'otpauth://totp/Airlock:alice',
  ]) {
    const r = await renderTotpSetup(bad);
    assert.ok(!r.ok, bad);
    assert.equal(r.error.code, 'bad_totp_uri');
  }
});
