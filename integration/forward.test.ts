import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Server } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import { portOf as port, sendAndHalfClose as send, startDigestService } from '@airlock/shared/testing';
import { startSystem, type System } from './harness.js';

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
let forward: ChildProcess;
let localDigest: number;
let localSource: number;

before(async () => {
  digest = await startDigestService({ separator: ' ' });
  source = await sourceService();
  sys = await startSystem({ ports: [port(digest), port(source)] });
  forward = sys.spawnCli(['forward', sys.vm, `${port(digest)}`, `${port(source)}:0`, '--json']);
  let out = '';
  forward.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  let err = '';
  forward.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const deadline = Date.now() + 20_000;
  while (out.split('\n').filter((l) => l.startsWith('{')).length < 2) {
    if (Date.now() > deadline || forward.exitCode !== null) throw new Error(`forward did not start: ${out} ${err}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  const lines = out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { remotePort: number; localPort: number; localHost: string });
  for (const l of lines) assert.equal(l.localHost, '127.0.0.1', 'forwards bind loopback only');
  localDigest = lines.find((l) => l.remotePort === port(digest))!.localPort;
  localSource = lines.find((l) => l.remotePort === port(source))!.localPort;
});

after(async () => {
  forward?.kill('SIGTERM');
  if (forward && forward.exitCode === null) await once(forward, 'exit');
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
