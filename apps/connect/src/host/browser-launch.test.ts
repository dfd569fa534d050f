import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { err, ok } from '@airlock/shared';
import type { Platform } from '../api/service/platform.js';
import { hasDisplay, openInBrowser } from './browser-launch.js';

const URL_WITH_SECRET = 'http://127.0.0.1:4321/#secret=s3cr3t-s3cr3t-s3cr3t';

function recording(os: NodeJS.Platform, fails = false): Platform & { ran: string[][] } {
  const ran: string[][] = [];
  return {
    os,
    ran,
    which: async () => undefined,
    exists: async () => false,
    launch: async (argv) => (ran.push([...argv]), fails ? err('ENOENT') : ok(undefined)),
  };
}

test('the browser is started on a 0600 page that sends it on: the secret is on no command line', async () => {
  const home = await mkdtemp(join(tmpdir(), 'airlock-open-'));
  try {
    for (const [os, program] of [
      ['linux', 'xdg-open'],
      ['darwin', 'open'],
      ['win32', 'cmd'],
    ] as const) {
      const platform = recording(os);
      const r = await openInBrowser(URL_WITH_SECRET, { home, platform, env: { DISPLAY: ':0' } });
      assert.deepEqual(r, { opened: true, page: join(home, 'open-airlock.html') });
      assert.equal(platform.ran.length, 1);
      const argv = platform.ran[0]!;
      assert.equal(argv[0], program);
      assert.ok(!argv.join(' ').includes('s3cr3t'), `the secret on ${os}'s command line`);
      const page = argv.at(-1)!;
      assert.equal((await stat(page)).mode & 0o777, 0o600);
      assert.ok((await readFile(page, 'utf8')).includes(`url=${URL_WITH_SECRET}"`));
    }
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

test('without a display nothing is started; a browser that does not start is said so', async () => {
  assert.equal(hasDisplay('linux', {}), false);
  assert.equal(hasDisplay('linux', { WAYLAND_DISPLAY: 'wayland-0' }), true);
  assert.equal(hasDisplay('darwin', {}), true);
  const home = await mkdtemp(join(tmpdir(), 'airlock-open-'));
  try {
    const headless = recording('linux');
    const r = await openInBrowser(URL_WITH_SECRET, { home, platform: headless, env: {} });
    assert.equal(r.opened, false);
    assert.deepEqual(headless.ran, []);
    const broken = await openInBrowser(URL_WITH_SECRET, {
      home,
      platform: recording('linux', true),
      env: { DISPLAY: ':0' },
    });
    assert.deepEqual(broken, {
      opened: false,
      reason: 'xdg-open did not start: ENOENT',
      page: join(home, 'open-airlock.html'),
    });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

test('on a first run the home folder is made (0700) before the page is written into it', async () => {
  const parent = await mkdtemp(join(tmpdir(), 'airlock-open-'));
  try {
    const home = join(parent, 'fresh', '.airlock');
    const r = await openInBrowser(URL_WITH_SECRET, { home, platform: recording('linux'), env: { DISPLAY: ':0' } });
    assert.equal(r.opened, true);
    assert.equal((await stat(home)).mode & 0o777, 0o700);
    // A home that cannot be made is no crash: the address is printed instead.
    const blocked = await openInBrowser(URL_WITH_SECRET, {
      home: '/proc/airlock-nope/.airlock',
      platform: recording('linux'),
      env: { DISPLAY: ':0' },
    });
    assert.deepEqual(blocked, {
      opened: false,
      reason: 'cannot write /proc/airlock-nope/.airlock/open-airlock.html (ENOENT)',
    });
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
});
