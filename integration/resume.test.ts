// Sessions that survive a dropped connection: real relay, agent and `airlock forward` processes;
// the network between them is a proxy on 127.0.0.1 that resets every TCP connection through it
// at once (to Connect and the agent, the relay's host vanishing), then lets new ones through.
// Each transfer carries a checksum of every byte sent and compares it with what arrived.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { listenOnLoopback, portOf as port } from '@airlock/shared/testing';
import { airlockBin, startSystem, waitFor, type System } from './harness.js';
import { CutProxy } from './support/cut-proxy.js';
import { forwardStarted, type ForwardCli } from './support/forward-cli.js';
import { homeVia } from './support/home-via.js';

const DOWNLOAD_BYTES = 96 * 1024 * 1024;

/** A service in the VM that sends `total` pseudo-random bytes on each connection and records their sha256. */
function downloadServer(total: number): { server: Server; sent: Promise<string>[] } {
  const sent: Promise<string>[] = [];
  const server = createServer((s: Socket) => {
    s.on('error', () => {});
    const hash = createHash('sha256');
    const block = randomBytes(256 * 1024);
    let left = total;
    sent.push(
      new Promise((resolve) => {
        const pump = (): void => {
          while (left > 0) {
            // Each block differs (its first bytes carry the offset), so a repeated or skipped
            // block changes the checksum.
            const n = Math.min(block.length, left);
            block.writeUInt32BE(total - left, 0);
            const chunk = Buffer.from(block.subarray(0, n));
            hash.update(chunk);
            left -= n;
            if (!s.write(chunk)) return void s.once('drain', pump);
          }
          s.end(() => resolve(hash.digest('hex')));
        };
        pump();
      }),
    );
  });
  return { server, sent };
}

/** Reads a connection to its end: bytes, sha256, and how it ended. */
function download(
  p: number,
  onData?: (total: number) => void,
): Promise<{ bytes: number; sha256: string; end: string }> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port: p });
    const hash = createHash('sha256');
    let bytes = 0;
    s.on('data', (d: Buffer) => {
      hash.update(d);
      bytes += d.length;
      onData?.(bytes);
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve({ bytes, sha256: '', end: e.code ?? e.message }));
    s.on('end', () => resolve({ bytes, sha256: hash.digest('hex'), end: 'end' }));
  });
}

let sys: System;
let agentPath: CutProxy;
let connectPath: CutProxy;
let home: string;
let forward: ForwardCli;
const source = downloadServer(DOWNLOAD_BYTES);

before(async () => {
  await listenOnLoopback(source.server);
  sys = await startSystem({ ports: [port(source.server)], noAgent: true });
  agentPath = await CutProxy.start(sys.relay.port);
  connectPath = await CutProxy.start(sys.relay.port);
  await sys.startAgent({ relayUrl: `https://127.0.0.1:${agentPath.port}` });
  await waitFor(
    () => sys.relay.isAgentOnline(sys.vm),
    20_000,
    () => 'agent never came online through the proxy',
  );
  home = homeVia(sys.home, connectPath.port);
  const child = spawn(airlockBin, ['forward', sys.vm, String(port(source.server)), '--json'], {
    env: { ...process.env, ...sys.cliEnv, AIRLOCK_HOME: home },
    stdio: 'pipe',
  });
  forward = await forwardStarted(child, 1);
});

after(async () => {
  await forward?.stop();
  await agentPath?.close();
  await connectPath?.close();
  await sys?.close();
  source.server.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

test('both connections reset mid-download: the session resumes and every byte arrives once, in order', async () => {
  let cut = false;
  const cutAt = 16 * 1024 * 1024;
  const got = download(forward.localPort(port(source.server)), (bytes) => {
    if (cut || bytes < cutAt) return;
    cut = true;
    assert.ok(connectPath.cut() > 0 && agentPath.cut() > 0, 'connections were cut');
  });
  const result = await got;
  assert.ok(cut, 'the download was cut in the middle');
  assert.equal(result.end, 'end');
  assert.equal(result.bytes, DOWNLOAD_BYTES);
  assert.equal(result.sha256, await source.sent.at(-1));
  assert.match(forward.stderr(), /resumed after/);
});
