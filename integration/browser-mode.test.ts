// Browser mode in a real browser: `airlock ui` serves the app on 127.0.0.1; Debian's Chromium
// opens it with the launch secret and the page reaches the Connect API under the app's CSP; a page
// from another origin that knows the secret still cannot reach it; the secret stays out of logs.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { SECRET_PROTOCOL_PREFIX, WIRE_PATH, WIRE_PROTOCOL } from '../apps/connect/src/api/transport/wire.js';
import { airlockBin, waitFor } from './harness.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : 'Debian chromium is not installed (.ci/run installs it)';

let home: string;
let ui: ChildProcess;
let url: string;
let stdout = '';
let stderr = '';
let evil: Server;

before(async () => {
  if (skip) return;
  home = mkdtempSync(join(tmpdir(), 'airlock-ui-'));
  ui = spawn(airlockBin, ['ui', '--no-open'], {
    env: { ...process.env, AIRLOCK_HOME: home, AIRLOCK_LOG_LEVEL: 'debug' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  ui.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  ui.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 30_000;
  while (!/http:\/\/127\.0\.0\.1:\d+\/#secret=\S+/.test(stdout)) {
    if (Date.now() > deadline || ui.exitCode !== null) throw new Error(`airlock ui did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  url = /http:\/\/127\.0\.0\.1:\d+\/#secret=\S+/.exec(stdout)![0];
  // The host prints its address before the rest of Connect has loaded, and holds the page's API
  // socket until it has. A person's browser simply waits; `--dump-dom` with a virtual time budget
  // does not count that wait and may dump the page still "Starting…" on a busy machine. So the
  // test waits, as a page would, for the API to answer an upgrade first.
  const { origin } = new URL(url);
  const ws = new WebSocket(
    `${origin.replace('http', 'ws')}${WIRE_PATH}`,
    [WIRE_PROTOCOL, SECRET_PROTOCOL_PREFIX + new URL(url).hash.replace('#secret=', '')],
    { headers: { origin } },
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.close();
});

after(async () => {
  ui?.kill('SIGKILL');
  evil?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

/** The page's DOM after its scripts ran, as headless Chromium sees it. */
function dumpDom(address: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      CHROMIUM,
      ['--headless', '--no-sandbox', '--disable-gpu', '--virtual-time-budget=5000', '--dump-dom', address],
      { timeout: 60_000, env: { ...process.env, HOME: home } },
      (error, out) => (error ? reject(error) : resolve(out)),
    ),
  );
}

test('Chromium opens the app with the launch secret; the page reaches the API under the CSP', { skip }, async () => {
  const dom = await dumpDom(url);
  // The app asked the API for the login state and shows the first-run enrollment.
  assert.match(dom, /<h1 id="enroll-title">One-time code<\/h1>/);
});

test('a page from another origin cannot reach the API, even knowing the secret', { skip }, async () => {
  const { port } = new URL(url);
  const secret = new URL(url).hash.replace('#secret=', '');
  evil = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(`<!doctype html><body>waiting<script>
      const ws = new WebSocket('ws://127.0.0.1:${port}/api', ['airlock.v1', 'airlock.secret.${secret}']);
      ws.onopen = () => { document.body.textContent = 'OPENED'; };
      ws.onclose = () => { if (document.body.textContent !== 'OPENED') document.body.textContent = 'REFUSED'; };
    </script></body>`);
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', () => r()));
  const dom = await dumpDom(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
  assert.match(dom, /<body>REFUSED<\/body>/);
  // The host's log reaches this process on its own schedule (a pipe), not before the page's answer.
  await waitFor(
    () => /refused a WebSocket/.test(stderr) && /Origin is not this app/.test(stderr),
    10_000,
    () => `the refusal was not logged: ${stderr}`,
  );
});

test('the secret is only in the printed address: not in the log, gone with the process', { skip }, async () => {
  const secret = new URL(url).hash.replace('#secret=', '');
  assert.ok(stderr.includes('a window connected'), 'the log was on');
  assert.ok(!stderr.includes(secret), 'the launch secret in the log');
  ui.kill('SIGTERM');
  const code = await new Promise((r) => ui.once('exit', r));
  assert.equal(code, 0);
  assert.equal(stdout.split(secret).length - 1, 1, 'printed once, in the address');
});
