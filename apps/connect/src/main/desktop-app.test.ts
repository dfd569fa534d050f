import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { API_REQUEST_NAMES, IPC_EVENT_CHANNEL, ipcRequestChannel } from '../api/contract/request-names.js';
import { CONTENT_SECURITY_POLICY } from '../api/transport/csp.js';
import { within } from '@airlock/shared/testing';
import { silentLogger } from '../core/logger.js';
import { runDesktopApp, type DesktopApp } from './desktop-app.js';
import { FakeElectron } from './test-support/fake-electron.js';
import { APP_ENTRY } from './window.js';

// Main against a fake of the Electron seam: the binary never runs in tests.

let dir: string;
let electron: FakeElectron;
let desktop: DesktopApp;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-desktop-'));
  await writeFile(join(dir, 'index.html'), '<!doctype html><title>Airlock</title>');
  await writeFile(join(tmpdir(), 'airlock-desktop-outside.txt'), 'outside');
  electron = new FakeElectron();
  desktop = runDesktopApp(electron, {
    home: join(dir, 'home'),
    rendererDir: dir,
    preload: '/app/preload.cjs',
    log: silentLogger,
    logFolder: '/tmp/logs',
  });
  assert.equal(await desktop.started, 'window');
});

after(async () => {
  await desktop?.service?.close();
  await rm(dir, { recursive: true, force: true });
  await rm(join(tmpdir(), 'airlock-desktop-outside.txt'), { force: true });
});

test('the window: isolated, sandboxed, no Node, no webview, the preload, the app page', () => {
  assert.equal(electron.windows.length, 1);
  const w = electron.windows[0]!;
  assert.deepEqual(w.options.webPreferences, {
    preload: '/app/preload.cjs',
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webviewTag: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    navigateOnDragDrop: false,
    spellcheck: false,
  });
  assert.equal(w.options.show, false, 'shown once ready, without a flash');
  assert.deepEqual(w.loaded, [APP_ENTRY]);
  w.emit('ready-to-show');
  assert.ok(w.shown);
  assert.deepEqual(
    electron.privilegedSchemes.map((s) => s.scheme),
    ['app'],
  );
});

test("the app's pages come with the CSP; nothing outside the bundle, nothing but GET", async () => {
  const handler = electron.protocolHandlers.get('app')!;
  const index = await handler(new Request(APP_ENTRY));
  assert.equal(index.status, 200);
  assert.equal(index.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
  assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
  assert.match(await index.text(), /<title>Airlock<\/title>/);
  for (const path of ['/../airlock-desktop-outside.txt', '/%2e%2e/airlock-desktop-outside.txt', '/nope.js'])
    assert.equal((await handler(new Request(`app://airlock${path}`))).status, 404, path);
  assert.equal((await handler(new Request('app://elsewhere/index.html'))).status, 404);
  assert.equal((await handler(new Request(APP_ENTRY, { method: 'POST', body: 'x' }))).status, 405);
});

test('navigation away, redirects, new windows and webviews are blocked; allowed links go to the system browser', async () => {
  const contents = electron.windows[0]!.webContents;
  assert.equal(contents.attempt('will-navigate', 'https://evil.example/'), true);
  assert.equal(contents.attempt('will-navigate', 'file:///etc/passwd'), true);
  assert.equal(contents.attempt('will-redirect', 'http://127.0.0.1:8888/'), true);
  assert.equal(contents.attempt('will-navigate', `${APP_ENTRY}#/vms`), false, 'the app may move within itself');
  assert.equal(contents.attempt('will-attach-webview'), true);
  for (const url of [
    'http://127.0.0.1:8888/',
    'https://www.freerdp.com/',
    'file:///etc/passwd',
    'javascript:alert(1)',
    'http://evil.example/',
    'http://u:p@127.0.0.1:1/',
  ])
    assert.deepEqual(contents.windowOpenHandler!({ url }), { action: 'deny' }, url);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(electron.openedExternally, ['http://127.0.0.1:8888/', 'https://www.freerdp.com/']);
});

test('every permission request and check is denied', async () => {
  let granted: boolean | undefined;
  electron.permissionRequest!(null, 'media', (g) => (granted = g));
  assert.equal(granted, false);
  for (const p of ['notifications', 'clipboard-read', 'geolocation', 'openExternal'])
    assert.equal(electron.permissionCheck!(null, p), false);
});

test('IPC: one handler per request, the app page only, one argument, checked against the contract', async () => {
  assert.deepEqual([...electron.ipcHandlers.keys()].sort(), API_REQUEST_NAMES.map(ipcRequestChannel).sort());
  const state = ipcRequestChannel('app.state');
  assert.deepEqual(await electron.invoke(state, APP_ENTRY, {}), {
    ok: true,
    value: { login: { state: 'not_enrolled' } },
  });
  const refused = (await electron.invoke(state, 'https://evil.example/', {})) as {
    ok: boolean;
    error: { code: string };
  };
  assert.equal(refused.error.code, 'untrusted_sender');
  assert.equal(
    ((await electron.invoke(state, null, {})) as { error: { code: string } }).error.code,
    'untrusted_sender',
  );
  const two = (await electron.invoke(state, APP_ENTRY, {}, { extra: 1 })) as { error: { code: string } };
  assert.equal(two.error.code, 'bad_request');
  const bad = (await electron.invoke(ipcRequestChannel('terminal.open'), APP_ENTRY, { vm: '../etc', cols: 1e9 })) as {
    error: { code: string; message: string };
  };
  assert.equal(bad.error.code, 'bad_request');
  assert.match(bad.error.message, /^terminal\.open: /);
});

test("the service's events reach the window", async () => {
  const contents = electron.windows[0]!.webContents;
  const before = contents.sent.length;
  await electron.invoke(ipcRequestChannel('login.logout'), APP_ENTRY, {});
  assert.deepEqual(contents.sent.slice(before), [
    [IPC_EVENT_CHANNEL, [{ type: 'login.changed', login: { state: 'not_enrolled' } }]],
  ]);
});

test('a second instance quits at once; the first one comes to the front', async () => {
  const second = new FakeElectron();
  second.lockGranted = false;
  const r = runDesktopApp(second, { home: dir, rendererDir: dir, preload: '/p', log: silentLogger, logFolder: null });
  assert.equal(await r.started, 'another-instance');
  assert.equal(second.quits, 1);
  assert.equal(second.windows.length, 0);
  assert.equal(second.ipcHandlers.size, 0);
  electron.appEvents.emit('second-instance');
  assert.equal(electron.windows[0]!.focused, 1);
});

test('a quit from anywhere closes the service first, then quits for real; closing the window quits', async () => {
  const own = new FakeElectron();
  const r = runDesktopApp(own, { home: dir, rendererDir: dir, preload: '/p', log: silentLogger, logFolder: null });
  assert.equal(await r.started, 'window');
  let closes = 0;
  let finishClose: () => void = () => {};
  const close = r.service!.close.bind(r.service!);
  r.service!.close = () => {
    closes++;
    return new Promise<void>((resolve) => (finishClose = resolve)).then(close);
  };
  own.appEvents.emit('window-all-closed');
  assert.equal(own.quits, 1, 'closing the last window quits');
  let prevented = 0;
  own.appEvents.emit('before-quit', { preventDefault: () => prevented++ });
  assert.deepEqual([prevented, closes, own.quits], [1, 1, 1], 'held while the service closes');
  // Asked again while it closes (Cmd-Q twice, or Quit and then the window closed): still held,
  // and the same close goes on.
  own.appEvents.emit('before-quit', { preventDefault: () => prevented++ });
  assert.deepEqual([prevented, closes, own.quits], [2, 1, 1], 'one close, the quit still held');
  finishClose();
  await within(
    (async () => {
      while (own.quits < 2) await new Promise((resolve) => setImmediate(resolve));
    })(),
    5000,
    'the quit made again once the service closed',
  );
  own.appEvents.emit('before-quit', { preventDefault: () => prevented++ });
  assert.deepEqual([prevented, closes], [2, 1], 'the quit after the close goes through');
});

test('a quit whose sessions do not close in time quits anyway after the deadline', async () => {
  const own = new FakeElectron();
  const r = runDesktopApp(own, {
    home: dir,
    rendererDir: dir,
    preload: '/p',
    log: silentLogger,
    logFolder: null,
    quitCloseDeadlineMs: 50,
  });
  assert.equal(await r.started, 'window');
  r.service!.close = () => new Promise<void>(() => {}); // a session whose network went silent
  own.appEvents.emit('before-quit', { preventDefault: () => {} });
  assert.equal(own.quits, 0);
  await within(
    (async () => {
      while (own.quits < 1) await new Promise((resolve) => setTimeout(resolve, 10));
    })(),
    5000,
    'the quit after the deadline',
  );
});
