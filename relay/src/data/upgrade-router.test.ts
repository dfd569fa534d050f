import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import type { AuditRecorder } from '../audit/recorder.js';
import { RequestRateLimiter } from '../identity/rate-limiter.js';
import { createUpgradeHandler, type UpgradeDeps } from './upgrade-router.js';

/** What the relay answers an upgrade of `path` from `address`: its status line. */
function answer(handle: ReturnType<typeof createUpgradeHandler>, address: string, path: string): Promise<string> {
  const socket = new PassThrough();
  let written = '';
  socket.on('data', (d: Buffer) => (written += d.toString()));
  const done = new Promise<string>((resolve) => socket.on('finish', () => resolve(written.split('\r\n')[0]!)));
  handle(
    { url: path, headers: {}, socket: { remoteAddress: address } } as unknown as IncomingMessage,
    socket,
    Buffer.alloc(0),
  );
  return done;
}

test('a source whose own refusals are used up is answered 429 at once; one beyond a full table, whose shared count is used up, is still heard', async () => {
  // One refusal a minute per source, two sources counted one by one; the rest share one count.
  const refusals = new RequestRateLimiter(1, 60_000, () => 0, 2);
  for (const source of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) for (let i = 0; i < 2; i++) refusals.take(source);
  assert.equal(refusals.peek('10.0.0.1').allowed, false);
  assert.deepEqual(refusals.peek('10.0.0.9'), { allowed: false, retryAfterSeconds: 60, shared: true });
  const audited: unknown[] = [];
  const handle = createUpgradeHandler({
    refusals,
    audit: { record: async (e: unknown) => void audited.push(e) } as unknown as AuditRecorder,
    logger: pino({ level: 'silent' }),
  } as unknown as UpgradeDeps);

  assert.equal(await answer(handle, '10.0.0.1', '/nowhere'), 'HTTP/1.1 429 Too Many Requests');
  // A spray from very many addresses must not shut agents and sessions from new addresses out:
  // this one's request is looked at (and refused for what it is).
  assert.equal(await answer(handle, '10.0.0.9', '/nowhere'), 'HTTP/1.1 404 Not Found');
  assert.equal(audited.length, 0, 'the shared budget is used up, so the refusal is not audited one by one');
});
