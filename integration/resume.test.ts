// Sessions that survive a dropped connection: real relay, agent and `airlock forward` processes;
// the network between them is a proxy on 127.0.0.1 that resets every TCP connection through it
// at once (to Connect and the agent, the relay's host vanishing), then lets new ones through.
// Each transfer carries a checksum of every byte sent and compares it with what arrived.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { listenOnLoopback, portOf as port, tearDown } from '@airlock/shared/testing';
import { airlockBin, startSystem, waitFor, type System } from './harness.js';
import { CutProxy } from '@airlock/shared/testing';
import { forwardVia, type ForwardCli } from './support/forward-cli.js';
import { homeVia } from './support/home-via.js';
import { download, downloadServer } from './support/checked-download.js';
import { startConnectApp } from './support/connect-app.js';

const DOWNLOAD_BYTES = 96 * 1024 * 1024;

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
  forward = await forwardVia({ airlockBin, vm: sys.vm, cliEnv: sys.cliEnv }, home, [port(source.server)]);
});

after(() =>
  tearDown('resume.test.ts', [
    ['airlock forward to stop', () => forward?.stop()],
    ['the cut proxies to close', () => Promise.all([agentPath?.close(), connectPath?.close()])],
    ['the relay and agent to stop', () => sys?.close()],
    ['the source to close', () => source.server.close()],
    ['the home to be removed', () => home && rmSync(home, { recursive: true, force: true })],
  ]),
);

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

test('a terminal in the app: the tab is told reconnecting, then resumed, and the shell carries on with what was typed meanwhile', async () => {
  const app = startConnectApp(sys.dir, { home: homeVia(sys.home, connectPath.port) });
  try {
    const { terminalId } = await app.must('terminal.open', { vm: sys.vm, cols: 80, rows: 24 });
    const output = () =>
      Buffer.concat(
        app.events
          .filter((e) => e.type === 'terminal.output' && e.terminalId === terminalId)
          .map((e) => Buffer.from((e as { data: Uint8Array }).data)),
      ).toString();
    await app.must('terminal.input', { terminalId, data: 'echo "one-$((20+1))"\n' });
    await waitFor(
      () => output().includes('one-21'),
      20_000,
      () => `no first marker: ${JSON.stringify(output())}`,
    );
    assert.ok(connectPath.cut() > 0 && agentPath.cut() > 0, 'connections were cut');
    // Typed while the connection is down: it must arrive once, after the resume.
    await app.must('terminal.input', { terminalId, data: 'echo "two-$((20+2))"\n' });
    const reconnecting = await app.event('terminal.connection', (e) => e.terminalId === terminalId);
    assert.equal(reconnecting.connection.state, 'reconnecting');
    await app.event('terminal.connection', (e) => e.terminalId === terminalId && e.connection.state === 'resumed');
    await waitFor(
      () => output().includes('two-22'),
      20_000,
      () => `no second marker: ${output()}`,
    );
    assert.equal(output().split('two-22').length - 1, 1, 'the command ran once');
    assert.ok(
      !app.events.some((e) => e.type === 'terminal.ended' && e.terminalId === terminalId),
      'the tab did not end',
    );
  } finally {
    await app.close();
  }
});

test('an SFTP upload (OpenSSH sftp through airlock sftp-stdio) across a drop: the file arrives whole', async () => {
  const work = mkdtempSync(join(tmpdir(), 'airlock-sftp-resume-'));
  try {
    const local = join(work, 'upload.bin');
    const remote = join(work, 'remote.bin');
    const payload = randomBytes(48 * 1024 * 1024);
    writeFileSync(local, payload);
    const child = spawn('sftp', ['-b', '-', '-D', `${airlockBin} sftp-stdio ${sys.vm}`], {
      env: { ...process.env, ...sys.cliEnv, AIRLOCK_HOME: home },
      cwd: work,
      stdio: 'pipe',
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.stdin.end(`put ${local} ${remote}\n`);
    await waitFor(
      () => existsSync(remote) && statSync(remote).size > 8 * 1024 * 1024,
      30_000,
      () => `the upload did not get going: ${stderr}`,
    );
    assert.ok(connectPath.cut() > 0 && agentPath.cut() > 0, 'connections were cut');
    assert.equal(await exited, 0, stderr);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    assert.equal(sha(readFileSync(remote)), sha(payload));
    assert.match(stderr, /resumed after/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
