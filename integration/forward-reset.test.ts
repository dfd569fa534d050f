// A forwarded connection that ends because its session was lost must reach both ends as a reset
// (RST), never as a clean end of stream: to a protocol without its own length framing, a FIN
// after a cut makes a truncated file look complete. Real relay, agent and `airlock forward`
// processes; the "relay dies" by a proxy in front of it resetting every TCP connection at once
// and refusing new ones for longer than the resume window (2 s here, on both ends), so the
// session is lost rather than resumed (resume.test.ts has the other case).
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { flood, listenOnLoopback, portOf as port, streamEnd } from '@airlock/shared/testing';
import { airlockBin, startSystem, waitFor, type System } from './harness.js';
import { CutProxy } from '@airlock/shared/testing';
import { forwardVia, type ForwardCli } from './support/forward-cli.js';
import { homeVia } from './support/home-via.js';

/** Services "in the VM" that keep every connection they accept, for the test to watch. */
function keepingServer(onConnection: (s: Socket) => void): { server: Server; accepted: Socket[] } {
  const accepted: Socket[] = [];
  const server = createServer({ allowHalfOpen: true }, (s) => {
    accepted.push(s);
    s.on('error', () => {}); // a reset is what the tests look for; they read it with streamEnd
    onConnection(s);
  });
  return { server, accepted };
}

const RESUME_WINDOW_MS = 2000;

let sys: System;
let agentPath: CutProxy;
let connectPath: CutProxy;
let home: string;
let forward: ForwardCli;
const source = keepingServer(flood);
const sink = keepingServer((s) => s.resume());
let sinkReceived = 0;
sink.server.on('connection', (s: Socket) => s.on('data', (d: Buffer) => (sinkReceived += d.length)));

before(async () => {
  await listenOnLoopback(source.server);
  await listenOnLoopback(sink.server);
  const ports = [port(source.server), port(sink.server)];
  sys = await startSystem({ ports, noAgent: true });
  agentPath = await CutProxy.start(sys.relay.port);
  connectPath = await CutProxy.start(sys.relay.port);
  await sys.startAgent({ relayUrl: `https://127.0.0.1:${agentPath.port}`, resumeWindowMs: RESUME_WINDOW_MS });
  await waitFor(
    () => sys.relay.isAgentOnline(sys.vm),
    20_000,
    () => 'agent never came online through the proxy',
  );
  home = homeVia(sys.home, connectPath.port);
  forward = await forwardVia({ airlockBin, vm: sys.vm, cliEnv: sys.cliEnv }, home, ports, {
    AIRLOCK_RESUME_WINDOW_SECONDS: String(RESUME_WINDOW_MS / 1000),
  });
});

after(async () => {
  await forward?.stop();
  await agentPath?.close();
  await connectPath?.close();
  await sys?.close();
  // The services' own connections too: they are half-open servers (allowHalfOpen), so one whose
  // peer only sent FIN stays open, and an open socket keeps this file's process from exiting
  // (CI once timed the file out at 180 s after its three tests had passed).
  for (const s of [...source.accepted, ...sink.accepted]) s.destroy();
  source.server.close();
  sink.server.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

/**
 * The relay dies under every session (both paths cut at once) and stays away past the resume
 * window; waits until all is back.
 */
async function killRelay(): Promise<void> {
  const reconnects = forward.stderr().split('reconnected to').length;
  connectPath.block(true);
  agentPath.block(true);
  assert.ok(connectPath.cut() > 0 && agentPath.cut() > 0, 'connections were cut');
  await waitFor(
    () => /could not resume/.test(forward.stderr()),
    20_000,
    () => `the session was not given up: ${forward.stderr()}`,
  );
  connectPath.block(false);
  agentPath.block(false);
  await waitFor(
    () => forward.stderr().split('reconnected to').length > reconnects && sys.relay.isAgentOnline(sys.vm),
    30_000,
    () => `no reconnect after the cut: ${forward.stderr()}`,
  );
}

test('relay dies mid-download: the local reader gets a reset, and so does the service in the VM', async () => {
  const reader = connect({ host: '127.0.0.1', port: forward.localPort(port(source.server)), allowHalfOpen: true });
  let got = 0;
  reader.on('data', (d: Buffer) => (got += d.length));
  const readerEnd = streamEnd(reader);
  await waitFor(
    () => got > 8 * 1024 * 1024,
    20_000,
    () => `download did not get going (${got} bytes)`,
  );
  const service = source.accepted.at(-1)!;
  // The service only writes: a reset shows as a write failing, a FIN would not stop it at all.
  const serviceFailed = new Promise<string>((r) =>
    service.once('error', (e: NodeJS.ErrnoException) => r(e.code ?? e.message)),
  );
  await killRelay();
  assert.equal(await readerEnd, 'ECONNRESET');
  assert.match(await serviceFailed, /^(ECONNRESET|EPIPE)$/);
});

test('relay dies mid-upload: the server in the VM gets a reset, not a clean end', async () => {
  const writer = connect({ host: '127.0.0.1', port: forward.localPort(port(sink.server)), allowHalfOpen: true });
  let writerError: string | undefined;
  writer.on('error', (e: NodeJS.ErrnoException) => (writerError = e.code));
  writer.once('connect', () => flood(writer));
  const before = sinkReceived;
  await waitFor(
    () => sink.accepted.length > 0 && sinkReceived - before > 8 * 1024 * 1024,
    20_000,
    () => `upload did not get going (${sinkReceived - before} bytes)`,
  );
  const serverEnd = streamEnd(sink.accepted.at(-1)!);
  await killRelay();
  assert.equal(await serverEnd, 'ECONNRESET');
  // The local writer is reset too: its next write fails.
  await waitFor(
    () => writerError !== undefined,
    10_000,
    () => 'the local writer was not reset',
  );
  assert.match(writerError!, /^(ECONNRESET|EPIPE)$/);
});

test('after the relay is back, the same forward carries new connections', async () => {
  const reader = connect({ host: '127.0.0.1', port: forward.localPort(port(source.server)), allowHalfOpen: true });
  let got = 0;
  reader.on('data', (d: Buffer) => (got += d.length));
  await waitFor(
    () => got > 1024 * 1024,
    20_000,
    () => `no data after the reconnect (${got} bytes)`,
  );
  reader.destroy();
});
