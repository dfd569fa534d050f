// The real renderer in Chromium against a scripted Connect service: the moments a real relay
// rarely gives on cue (an enrollment the service ended halfway, a slow answer to a double Enter).
// The page, the host and the wire are the real ones; only the service behind `dispatch` is
// scripted.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pino from 'pino';
import type { Browser, Page } from 'playwright-core';
import type { ApiEvent } from '../apps/connect/src/api/contract/index.js';
import type { Dispatch } from '../apps/connect/src/api/dispatch.js';
import { startUiHost, type UiHost } from '../apps/connect/src/host/ui-host.js';
import { RENDERER_DIR } from '../scripts/tasks/bundle.js';
import { chromiumMissing, launchChromium, screenshot, seriousAxeViolations } from './src/browser.js';

const skip = chromiumMissing;
let browser: Browser;

before(async () => {
  if (skip) return;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

const STARTED = {
  enrollmentId: 'enroll-1',
  relayUrl: 'https://relay.example.org',
  relayPin: 'sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
  deviceName: 'laptop',
  passwordRules: { minLength: 12 },
};

/** A first-run service whose enrollment starts (after `startDelayMs`) and then fails as `setPassword` says. */
function enrollmentService(startDelayMs: number) {
  const calls: string[] = [];
  const dispatch: Dispatch = async (name) => {
    calls.push(String(name));
    if (name === 'app.state') return { ok: true, value: { login: { state: 'not_enrolled' } } };
    if (name === 'enroll.start') {
      await new Promise((r) => setTimeout(r, startDelayMs));
      return { ok: true, value: STARTED };
    }
    if (name === 'enroll.setPassword')
      return {
        ok: false,
        error: {
          code: 'relay_unreachable',
          message: 'could not reach the relay at https://relay.example.org (connection refused)',
          action: 'check_relay',
        },
      };
    return { ok: true, value: {} };
  };
  return { dispatch, calls };
}

/**
 * Runs `run` on the real renderer in a new Chromium page, against a UI host serving `dispatch`
 * (and `onEvent`), once `title` (if any) shows; the page and the host are closed whatever happens.
 */
async function withApp(
  app: { dispatch: Dispatch; title?: string; onEvent?: (listener: (e: ApiEvent) => void) => () => void },
  run: (page: Page) => Promise<void>,
): Promise<void> {
  const host: UiHost = await startUiHost({
    api: { dispatch: app.dispatch, onEvent: app.onEvent ?? (() => () => {}), log: pino({ level: 'silent' }) },
    staticDir: RENDERER_DIR,
  });
  const page = await browser.newPage();
  try {
    await page.goto(host.url);
    const title = app.title ?? 'One-time code';
    if (title) await page.locator('h1#enroll-title', { hasText: title }).waitFor({ timeout: 30_000 });
    await run(page);
  } finally {
    await page.close();
    await host.close();
  }
}

test(
  'enrollment: a double Enter starts one enrollment; a failure that ended it goes back to the start, saying so',
  { skip },
  async () => {
    const service = enrollmentService(500);
    await withApp({ dispatch: service.dispatch }, async (page) => {
      await page.locator('#enroll-relay').fill(STARTED.relayUrl);
      await page.locator('#enroll-code').fill('u1.secret');
      await page.locator('#enroll-code').press('Enter');
      await page.locator('#enroll-code').press('Enter');
      await page.locator('h1#enroll-title', { hasText: 'Password' }).waitFor();
      assert.equal(service.calls.filter((c) => c === 'enroll.start').length, 1, service.calls.join(', '));

      await page.getByLabel('New password').fill('correct horse battery');
      await page.getByLabel('The same password again').fill('correct horse battery');
      await page.getByRole('button', { name: 'Continue' }).click();
      // The service ended that enrollment: the wizard is back at its first step, and says why.
      await page.locator('h1#enroll-title', { hasText: 'One-time code' }).waitFor();
      const said = page.getByRole('alert');
      assert.match(await said.innerText(), /That enrollment ended: start again/);
      assert.match(await said.innerText(), /could not reach the relay/i);
      assert.deepEqual(await seriousAxeViolations(page), []);
      await screenshot(page, 'enroll-ended');
    });
  },
);

/** A logged-in service with one VM whose `terminal.open` is answered only when `answer()` is called. */
function slowTerminalService() {
  const calls: Array<[string, unknown]> = [];
  let answer = () => {};
  const answered = new Promise<void>((r) => (answer = r));
  const vms = {
    trust: 'relay-only',
    vms: [{ id: 'lab-vm', online: true, ports: [], grantExpiresAt: null, certificate: { state: 'relay-only' } }],
  };
  const dispatch: Dispatch = async (name, params) => {
    calls.push([String(name), params]);
    if (name === 'app.state' || name === 'login.state')
      return {
        ok: true,
        value: {
          login: {
            state: 'logged_in',
            user: 'alice',
            relayUrl: STARTED.relayUrl,
            expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
          },
        },
      };
    if (name === 'vms.watch' || name === 'vms.list') return { ok: true, value: vms };
    if (name === 'forward.list') return { ok: true, value: { forwards: [] } };
    if (name === 'terminal.open') {
      await answered;
      return { ok: true, value: { terminalId: 'term-1', vm: 'lab-vm', sessionId: 'session-1' } };
    }
    return { ok: true, value: {} };
  };
  return { dispatch, calls, answer: () => answer() };
}

test('a terminal tab closed while its shell is still opening closes that shell once it opens', { skip }, async () => {
  const service = slowTerminalService();
  await withApp({ dispatch: service.dispatch, title: '' }, async (page) => {
    await page.getByRole('button', { name: 'Open terminal on lab-vm' }).click();
    await page.getByRole('tab', { name: /lab-vm/ }).waitFor();
    await page.locator('[role=tabpanel]:not([hidden]) [data-phase=connecting]').waitFor();
    await page.keyboard.press('Control+Shift+W');
    await page.getByRole('tab', { name: /lab-vm/ }).waitFor({ state: 'detached' });
    service.answer();
    const deadline = Date.now() + 10_000;
    const closed = () =>
      service.calls.some(([n, p]) => n === 'terminal.close' && (p as { terminalId?: string }).terminalId === 'term-1');
    while (!closed() && Date.now() < deadline) await page.waitForTimeout(50);
    assert.ok(closed(), service.calls.map(([n]) => n).join(', '));
  });
});

test(
  'a link a program writes with OSC 8 shows its real address before it opens, and only with Ctrl',
  { skip },
  async () => {
    const service = slowTerminalService();
    service.answer();
    const listeners = new Set<(e: ApiEvent) => void>();
    await withApp(
      { dispatch: service.dispatch, title: '', onEvent: (l) => (listeners.add(l), () => listeners.delete(l)) },
      async (page) => {
        await page.getByRole('button', { name: 'Open terminal on lab-vm' }).click();
        await page.locator('[role=tabpanel]:not([hidden]) [data-phase=open]').waitFor();
        const text = '\x1b]8;;https://evil.example/login\x07intranet.example.org\x1b]8;;\x07\r\n';
        for (const l of listeners)
          l({ type: 'terminal.output', terminalId: 'term-1', data: new TextEncoder().encode(text) });
        const row = page
          .locator('[role=tabpanel]:not([hidden]) .xterm-rows > div')
          .filter({ hasText: 'intranet.example.org' });
        await row.waitFor();
        const dialogs: string[] = [];
        page.on('dialog', (d) => {
          dialogs.push(d.message());
          void d.dismiss();
        });
        const popups: string[] = [];
        page.on('popup', (p) => popups.push(p.url()));
        const box = (await row.boundingBox())!;
        const at = { x: box.x + 30, y: box.y + box.height / 2 };
        await page.mouse.move(at.x, at.y);
        await page.mouse.click(at.x, at.y);
        await page.waitForTimeout(300);
        assert.deepEqual(dialogs, [], 'a plain click opens nothing and asks nothing');
        await page.keyboard.down('Control');
        await page.mouse.click(at.x, at.y);
        await page.keyboard.up('Control');
        await page.waitForTimeout(300);
        assert.equal(dialogs.length, 1);
        assert.match(dialogs[0]!, /https:\/\/evil\.example\/login/, 'the real address is shown');
        assert.deepEqual(popups, [], 'dismissed: nothing opened');
      },
    );
  },
);

test(
  'failures said in place: forwards that could not be listed, a setting not changed, a logout refused',
  { skip },
  async () => {
    const service = slowTerminalService();
    const relayDown = {
      code: 'relay_unreachable',
      message: 'could not reach the relay (connection refused)',
      action: 'check_relay' as const,
    };
    const dispatch: Dispatch = async (name, params) => {
      if (name === 'forward.list' || name === 'settings.setLogLevel' || name === 'login.logout')
        return { ok: false, error: relayDown };
      if (name === 'settings.get')
        return {
          ok: true,
          value: {
            relay: { url: STARTED.relayUrl, pin: STARTED.relayPin },
            user: 'alice',
            deviceId: 'device-1',
            home: '/home/alice/.airlock',
            versions: { connect: '0.1.0', node: '22', platform: 'linux x64' },
            logFolder: '/home/alice/.airlock/logs',
            logLevel: 'info',
            keychain: { backend: 'the OS keychain', available: true, remembered: false },
          },
        };
      return service.dispatch(name, params);
    };
    await withApp({ dispatch, title: '' }, async (page) => {
      // Once the workspace is there (the VM list asked for), its Forwards tab.
      await page.getByRole('button', { name: 'Open terminal on lab-vm' }).waitFor();
      await page.getByRole('tab', { name: 'Forwards' }).click();
      await page.getByRole('alert').filter({ hasText: "Couldn't list the forwards" }).waitFor();
      assert.equal(await page.getByTestId('forwards-empty').count(), 0, 'not said to be none');
      assert.deepEqual(await seriousAxeViolations(page), []);
      await screenshot(page, 'forwards-list-failed');
      await page.keyboard.press('Control+,');
      await page.getByLabel('Log level').selectOption('debug');
      await page.getByRole('alert').filter({ hasText: "Couldn't change the log level" }).waitFor();
      assert.equal(await page.getByLabel('Log level').inputValue(), 'info', "the level shown is the service's");
      assert.deepEqual(await seriousAxeViolations(page), []);
      await screenshot(page, 'settings-change-failed');
      await page.getByRole('button', { name: 'Log out', exact: true }).click();
      const confirm = page.getByTestId('logout-confirm');
      if (await confirm.count()) await confirm.getByRole('button', { name: /Log out/ }).click();
      await page.getByRole('alert').filter({ hasText: "Couldn't log out" }).waitFor();
      await screenshot(page, 'logout-failed');
    });
  },
);
