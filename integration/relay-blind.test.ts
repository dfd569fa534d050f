import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import { startSystem, waitFor, type System } from './harness.js';
import { forwardStarted } from './support/forward-cli.js';

// The relay must only ever copy ciphertext. The in-process relay's observer records every
// frame it copies; a marker that crossed the session in plaintext at both ends must not
// appear in any of them, in either direction, even across frame boundaries.
let sys: System;
let echo: Server;

before(async () => {
  echo = createServer((s) => s.pipe(s));
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  sys = await startSystem({ ports: [(echo.address() as AddressInfo).port] });
});
after(async () => {
  await sys?.close();
  echo?.close();
});

function assertBlind(marker: string, sessionIds: string[]): void {
  assert.ok(sessionIds.length > 0, 'the relay saw no session at all');
  for (const sid of sessionIds) {
    const f = sys.frames.get(sid)!;
    const up = Buffer.concat(f.up);
    const down = Buffer.concat(f.down);
    assert.ok(up.length > 1000 && down.length > 1000, `session ${sid} carried too little to judge`);
    for (const [name, bytes] of [
      ['up', up],
      ['down', down],
    ] as const) {
      assert.equal(bytes.indexOf(marker), -1, `plaintext marker seen by the relay (${name}, session ${sid})`);
      assert.equal(bytes.indexOf(Buffer.from(marker, 'utf16le')), -1);
    }
  }
}

test('the relay never sees what a shell session carries', async () => {
  const marker = `PLAINTEXT-MARKER-${randomBytes(12).toString('hex')}`;
  const before = new Set(sys.frames.keys());
  const r = await sys.cli(['shell', sys.vm], { input: `echo ${marker}; echo ${marker} | rev\nexit\n` });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(marker), 'the marker made the round trip');
  assertBlind(
    marker,
    [...sys.frames.keys()].filter((k) => !before.has(k)),
  );
});

test('the relay never sees what a forwarded connection carries', async () => {
  const marker = `FORWARD-MARKER-${randomBytes(12).toString('hex')}`;
  const before = new Set(sys.frames.keys());
  const port = (echo.address() as AddressInfo).port;
  const fwd = await forwardStarted(sys.spawnCli(['forward', sys.vm, `${port}`, '--json']), 1);
  try {
    const sock = connect({ host: '127.0.0.1', port: fwd.localPort(port) });
    await once(sock, 'connect');
    const payload = Buffer.from((marker + '\n').repeat(2000));
    let got = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
    sock.write(payload);
    await waitFor(
      () => got.length >= payload.length,
      20_000,
      () => `echoed ${got.length} of ${payload.length} bytes`,
    );
    assert.ok(got.equals(payload), 'the echo service returned the marker through the forward');
    sock.destroy();
  } finally {
    await fwd.stop();
  }
  assertBlind(
    marker,
    [...sys.frames.keys()].filter((k) => !before.has(k)),
  );
});
