// resetSocket: a reset the peer sees as one (never a clean end), and one that libuv cannot refuse
// half-way — Node's resetAndDestroy() on a socket whose FIN is queued leaked the handle and made
// the process spin at exit (a test file that passed and then never ended).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { resetSocket } from './socket-reset.js';

/** Connects, reads until the stream ends, and says how: `reset <bytes>` or `end <bytes>`. */
const PY_READER = `
import socket, sys, time
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
time.sleep(0.3)
n = 0
while True:
    try:
        d = s.recv(65536)
    except ConnectionResetError:
        print('reset', n); break
    if not d:
        print('end', n); break
    n += len(d)
`;

let server: Server;
const accepted: Socket[] = [];
before(async () => {
  server = createServer((s) => {
    s.on('error', () => {});
    accepted.push(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
});
after(() => {
  for (const s of accepted) s.destroy();
  server.close();
});

async function pair(): Promise<{ ours: Socket; peer: Socket }> {
  const before = accepted.length;
  const ours = connect((server.address() as { port: number }).port, '127.0.0.1');
  await once(ours, 'connect');
  while (accepted.length === before) await new Promise((r) => setImmediate(r));
  return { ours, peer: accepted.at(-1)! };
}

/** How the peer saw the connection end: a reset, or a clean end (FIN) with the bytes it got. */
async function peerSees(peer: Socket): Promise<{ how: 'reset' | 'end'; bytes: number }> {
  let bytes = 0;
  peer.on('data', (d: Buffer) => (bytes += d.length));
  return new Promise((resolve) => {
    peer.once('error', (e: NodeJS.ErrnoException) =>
      resolve({ how: e.code === 'ECONNRESET' ? 'reset' : 'end', bytes }),
    );
    peer.once('end', () => {
      // A FIN may be followed by the reset: wait for it a moment.
      peer.once('error', () => resolve({ how: 'reset', bytes }));
      setTimeout(() => resolve({ how: 'end', bytes }), 300);
    });
  });
}

test('an open socket is reset: the peer sees ECONNRESET, not a clean end', async () => {
  const { ours, peer } = await pair();
  const seen = peerSees(peer);
  resetSocket(ours);
  await once(ours, 'close');
  assert.equal((await seen).how, 'reset');
});

test('a socket whose FIN is already queued still closes (no leaked handle), after sending all it was given', async () => {
  const { ours, peer } = await pair();
  let refused: NodeJS.ErrnoException | undefined;
  ours.on('error', (e) => (refused = e));
  const seen = peerSees(peer);
  ours.end(Buffer.alloc(1000, 1));
  // end() queues the shutdown once the write is out; the reset comes in the same turn, as when a
  // session dies right after the far side finished its stream.
  await new Promise<void>((r) => process.nextTick(() => process.nextTick(r)));
  resetSocket(ours);
  const closed = await Promise.race([
    once(ours, 'close').then(() => true),
    new Promise<false>((resolve) => setTimeout(() => resolve(false), 5_000).unref()),
  ]);
  assert.ok(closed, `the socket closed (${refused ? `the reset was refused: ${refused.message}` : 'no error either'})`);
  assert.equal(refused, undefined, `no refused reset (${refused?.message})`);
  assert.equal((await seen).bytes, 1000, 'what it was given went out before its FIN');
});

test('a socket with writes still in flight is reset, not ended: the peer gets no clean end after a cut', async () => {
  // The peer is Python's plain recv(): libuv, as a reader, reports a reset that comes with unread
  // data as an end of stream (a POLLHUP after a partial read), so a Node peer cannot tell.
  const listener = createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const peer = spawn('python3', ['-c', PY_READER, String((listener.address() as { port: number }).port)]);
  let said = '';
  peer.stdout.on('data', (d: Buffer) => (said += d.toString()));
  const [ours] = (await once(listener, 'connection')) as [Socket];
  ours.on('error', () => {});
  const big = Buffer.alloc(64 * 1024 * 1024, 2);
  ours.end(big);
  assert.ok(ours.writableLength > 0, 'the write is still going out');
  resetSocket(ours);
  await once(ours, 'close');
  await once(peer, 'close');
  listener.close();
  const [how, bytes] = said.trim().split(' ');
  assert.ok(Number(bytes) < big.length, `the peer got ${bytes} of ${big.length} bytes`);
  assert.equal(how, 'reset');
});

test('the process that did it exits at once (before the fix it spun at 100 % CPU in its exit)', () => {
  const script = `
    import { once } from 'node:events';
    import { connect, createServer } from 'node:net';
    import { resetSocket } from ${JSON.stringify(fileURLToPath(new URL('./socket-reset.ts', import.meta.url)))};
    const server = createServer((s) => { s.on('error', () => {}); s.resume(); s.on('end', () => s.end()); });
    server.listen(0, '127.0.0.1'); await once(server, 'listening');
    const s = connect(server.address().port, '127.0.0.1'); await once(s, 'connect');
    s.on('error', () => {});
    s.end();
    process.nextTick(() => process.nextTick(() => { resetSocket(s); server.close(); }));
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    timeout: 20_000,
    encoding: 'utf8',
  });
  assert.equal(r.error, undefined, `the child did not exit by itself: ${r.error?.message}`);
  assert.equal(r.status, 0, r.stderr);
});
