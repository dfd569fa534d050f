import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import { portOf as port, sendAndHalfClose as send, startDigestService } from '@airlock/shared/testing';
import { startSystem, waitFor, type System } from './harness.js';
import { forwardStarted, type ForwardCli } from './support/forward-cli.js';

/** A service that sends `size` pseudo-random bytes from a seed given in the first line. */
async function sourceService(): Promise<Server> {
  const srv = createServer((sock) => {
    sock.once('data', (d: Buffer) => {
      const size = Number(d.toString().trim());
      const block = createHash('sha512').update(String(size)).digest();
      let left = size;
      const pump = (): void => {
        while (left > 0) {
          const chunk = Buffer.alloc(Math.min(left, 1 << 20));
          for (let i = 0; i < chunk.length; i += block.length) block.copy(chunk, i);
          left -= chunk.length;
          if (!sock.write(chunk)) return void sock.once('drain', pump);
        }
        sock.end();
      };
      pump();
    });
    sock.on('error', () => {});
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return srv;
}

let sys: System;
let digest: Server;
let source: Server;
let forward: ForwardCli;
let localDigest: number;
let localSource: number;

before(async () => {
  digest = await startDigestService({ separator: ' ' });
  source = await sourceService();
  sys = await startSystem({ ports: [port(digest), port(source)] });
  forward = await forwardStarted(
    sys.spawnCli(['forward', sys.vm, `${port(digest)}`, `${port(source)}:0`, '--json']),
    2,
  );
  localDigest = forward.localPort(port(digest));
  localSource = forward.localPort(port(source));
});

after(async () => {
  await forward?.stop();
  await sys?.close();
  digest?.close();
  source?.close();
});

test('forward: bytes both ways and TCP half-close (client ends, still receives the reply)', async () => {
  const payload = Buffer.from('ping through airlock');
  const reply = await send(localDigest, payload);
  assert.equal(reply, `${payload.length} ${createHash('sha256').update(payload).digest('hex')}`);
});

test('forward: 100 MB upload arrives with a matching SHA-256', async () => {
  const payload = randomBytes(100 * 1024 * 1024);
  const reply = await send(localDigest, payload);
  assert.equal(reply, `${payload.length} ${createHash('sha256').update(payload).digest('hex')}`);
});

test('forward: 100 MB download arrives with a matching SHA-256', async () => {
  const size = 100 * 1024 * 1024;
  const direct = connect({ host: '127.0.0.1', port: port(source) });
  const viaAirlock = connect({ host: '127.0.0.1', port: localSource });
  const digestOf = async (sock: ReturnType<typeof connect>) => {
    await once(sock, 'connect');
    sock.write(`${size}\n`);
    const h = createHash('sha256');
    let n = 0;
    sock.on('data', (d: Buffer) => {
      h.update(d);
      n += d.length;
    });
    await once(sock, 'end');
    return `${n} ${h.digest('hex')}`;
  };
  const [a, b] = await Promise.all([digestOf(direct), digestOf(viaAirlock)]);
  assert.equal(b, a);
  assert.ok(b.startsWith(`${size} `));
});

test('forward: several connections at once on one session', async () => {
  const payloads = [0, 1, 2, 3, 4].map((i) => randomBytes(200_000 + i));
  const replies = await Promise.all(payloads.map((p) => send(localDigest, p)));
  replies.forEach((r, i) =>
    assert.equal(r, `${payloads[i]!.length} ${createHash('sha256').update(payloads[i]!).digest('hex')}`),
  );
});

test('forward: 200 connections open at once through one forward, each with its own bytes', async () => {
  const n = 200;
  const socks = await Promise.all(
    Array.from({ length: n }, async () => {
      const sock = connect({ host: '127.0.0.1', port: localDigest, allowHalfOpen: true });
      await once(sock, 'connect');
      return sock;
    }),
  );
  // Every one is carried through to the service in the VM before any of them ends: 200 at once.
  const open = () => new Promise<number>((r) => digest.getConnections((_e, count) => r(count)));
  await waitFor(
    async () => (await open()) >= n,
    30_000,
    () => `not all ${n} connections reached the VM`,
  );
  const payloads = socks.map((_, i) => randomBytes(10_000 + i));
  const replies = await Promise.all(
    socks.map(async (sock, i) => {
      const chunks: Buffer[] = [];
      sock.on('data', (d: Buffer) => chunks.push(d));
      sock.end(payloads[i]!);
      await once(sock, 'end');
      sock.destroy();
      return Buffer.concat(chunks).toString();
    }),
  );
  replies.forEach((r, i) =>
    assert.equal(r, `${payloads[i]!.length} ${createHash('sha256').update(payloads[i]!).digest('hex')}`),
  );
  assert.doesNotMatch(forward.stderr(), /failed/);
});
