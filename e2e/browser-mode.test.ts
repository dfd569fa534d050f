// Browser mode in a real browser: `airlock ui` serves the app on 127.0.0.1; Debian's Chromium
// opens it with the launch secret and the page reaches the Connect API under the app's CSP; a page
// from another origin that knows the secret still cannot reach it; the secret stays out of logs.
//
// Driven through Playwright, which waits in real time for the page's answer. (Chromium's own
// `--dump-dom --virtual-time-budget` does not count a page waiting on a socket, and dumped pages
// still waiting under CI load.)
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { waitFor } from '../integration/harness.js';
import { chromiumMissing, launchChromium } from './src/browser.js';
import { startUi, type UiProcess } from './src/ui-process.js';

const skip = chromiumMissing;
let home: string;
let ui: UiProcess;
let browser: Browser;
let evil: Server;

before(async () => {
  if (skip) return;
  home = mkdtempSync(join(tmpdir(), 'airlock-ui-'));
  ui = await startUi({ AIRLOCK_HOME: home });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await ui?.stop();
  evil?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

test('Chromium opens the app with the launch secret; the page reaches the API under the CSP', { skip }, async () => {
  const page = await browser.newPage();
  // Any console error counts: a CSP violation, a blocked script, a file the page asks for in vain.
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(ui.url);
  // The app asked the API for the login state and shows the first-run enrollment.
  await page.locator('h1#enroll-title', { hasText: 'One-time code' }).waitFor({ timeout: 30_000 });
  assert.deepEqual(errors, []);
  await page.close();
});

test('a page from another origin cannot reach the API, even knowing the secret', { skip }, async () => {
  const { port } = new URL(ui.url);
  const secret = new URL(ui.url).hash.replace('#secret=', '');
  evil = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(`<!doctype html><body>waiting<script>
      const ws = new WebSocket('ws://127.0.0.1:${port}/api', ['airlock.v1', 'airlock.secret.${secret}']);
      ws.onopen = () => { document.body.textContent = 'OPENED'; };
      ws.onclose = () => { if (document.body.textContent !== 'OPENED') document.body.textContent = 'REFUSED'; };
    </script></body>`);
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', () => r()));
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
  await page.waitForFunction("document.body.textContent !== 'waiting'", undefined, { timeout: 30_000 });
  assert.equal(await page.textContent('body'), 'REFUSED');
  await page.close();
  // The host's log reaches this process on its own schedule (a pipe), not before the page's answer.
  await waitFor(
    () => /refused a WebSocket/.test(ui.log()) && /Origin is not this app/.test(ui.log()),
    10_000,
    () => `the refusal was not logged: ${ui.log()}`,
  );
});

test('the secret is only in the printed address: not in the log, gone with the process', { skip }, async () => {
  const secret = new URL(ui.url).hash.replace('#secret=', '');
  assert.ok(ui.log().includes('a window connected'), 'the log was on');
  assert.ok(!ui.log().includes(secret), 'the launch secret in the log');
  ui.child.kill('SIGTERM');
  const [code] = await once(ui.child, 'exit');
  assert.equal(code, 0);
  assert.equal(ui.printed().split(secret).length - 1, 1, 'printed once, in the address');
});
