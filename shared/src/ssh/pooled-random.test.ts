import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { test } from 'node:test';
import { SshAlgorithms } from '@microsoft/dev-tunnels-ssh';
import { createSshConfig } from './config.js';
import { PooledRandom } from './pooled-random.js';

/** A fill from the real CSPRNG that records every byte it wrote, in order. */
function recordingFill(): { fill: (b: Buffer) => void; calls: number[]; stream: () => Buffer } {
  const chunks: Buffer[] = [];
  const calls: number[] = [];
  return {
    calls,
    stream: () => Buffer.concat(chunks),
    fill: (b: Buffer) => {
      randomFillSync(b);
      calls.push(b.length);
      chunks.push(Buffer.from(b));
    },
  };
}

test('each pooled byte is handed out once, in order, and the pool is refilled when a request does not fit', () => {
  const source = recordingFill();
  const random = new PooledRandom(source.fill);
  const outputs: Buffer[] = [];
  // Padding-sized requests, 4 to 255 bytes, well past one pool.
  for (let i = 0; i < 200; i++) {
    const b = Buffer.alloc(4 + ((i * 37) % 252));
    random.getBytes(b);
    outputs.push(b);
  }
  assert.ok(source.calls.length > 1, 'the pool was refilled');
  assert.ok(
    source.calls.every((n) => n === 4096),
    'every fill was of the whole pool',
  );
  // Each output is the next unused stretch of what the CSPRNG gave; what did not fit before a
  // refill is skipped, never handed out later.
  const stream = source.stream();
  let at = 0;
  for (const out of outputs) {
    const poolEnd = (Math.floor(at / 4096) + 1) * 4096;
    if (at + out.length > poolEnd) at = poolEnd;
    assert.deepEqual(out, stream.subarray(at, at + out.length));
    at += out.length;
  }
  assert.ok(at <= stream.length);
});

test('a request larger than a quarter of the pool is filled directly, leaving the pool as it was', () => {
  const source = recordingFill();
  const random = new PooledRandom(source.fill);
  const big = Buffer.alloc(2000);
  random.getBytes(big);
  assert.deepEqual(source.calls, [2000]);
  const small = Buffer.alloc(8);
  random.getBytes(small);
  assert.deepEqual(source.calls, [2000, 4096]);
});

test('the real CSPRNG: successive paddings differ, and the SSH configuration installs the pool', () => {
  const random = new PooledRandom();
  const a = Buffer.alloc(32);
  const b = Buffer.alloc(32);
  random.getBytes(a);
  random.getBytes(b);
  assert.notDeepEqual(a, b);
  assert.notDeepEqual(a, Buffer.alloc(32));
  createSshConfig();
  assert.ok(SshAlgorithms.random instanceof PooledRandom);
});
