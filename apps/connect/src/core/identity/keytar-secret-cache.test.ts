import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KeychainCache, probeKeychain, type KeytarLike } from './keytar-secret-cache.js';

const REPO = fileURLToPath(new URL('../../../../../', import.meta.url));
const CHILD = fileURLToPath(new URL('../test-support/keychain-child.ts', import.meta.url));
const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missingTools = ['dbus-run-session', 'gnome-keyring-daemon', 'secret-tool'].filter((c) => !have(c));

/** A home with its own XDG folders, so the test never touches the real keyring or session bus. */
async function isolatedEnv(): Promise<{ dir: string; env: NodeJS.ProcessEnv }> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-keychain-'));
  dirs.push(dir);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, LANG: 'C.UTF-8' };
  for (const [name, sub] of [
    ['XDG_RUNTIME_DIR', 'run'],
    ['XDG_DATA_HOME', 'data'],
    ['XDG_CONFIG_HOME', 'config'],
    ['XDG_CACHE_HOME', 'cache'],
  ] as const) {
    await mkdir(join(dir, sub), { mode: 0o700 });
    env[name] = join(dir, sub);
  }
  return { dir, env };
}

/** Runs a command in its own process group; kills the whole group if it outlives `ms`. */
function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  ms: number,
): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(cmd, args, { env, cwd: REPO, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), ms);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      try {
        process.kill(-child.pid!, 'SIGKILL'); // anything the child left behind in its group
      } catch {
        // the group is already gone
      }
      resolve({ code, out, err });
    }),
  );
}

function lastJson(out: string): Record<string, unknown> {
  const line = out.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as Record<string, unknown>;
}

test(
  'real keychain: a throwaway gnome-keyring under dbus-run-session stores, reads back and deletes the unlock key',
  {
    timeout: 90_000,
    skip: missingTools.length
      ? `needs ${missingTools.join(', ')} (apt-get install gnome-keyring dbus-x11 libsecret-tools)`
      : false,
  },
  async () => {
    const { dir, env } = await isolatedEnv();
    const script = join(dir, 'in-session.sh');
    await writeFile(
      script,
      [
        '#!/bin/sh',
        'set -e',
        // The keyring password arrives on stdin; --unlock creates and unlocks the login keyring.
        `eval "$(printf '%s\\n' throwaway-keyring-password | gnome-keyring-daemon --unlock --components=secrets)"`,
        'export GNOME_KEYRING_CONTROL',
        `exec "${process.execPath}" --import tsx "${CHILD}" full "${join(dir, 'airlock-home')}"`,
      ].join('\n') + '\n',
    );
    await chmod(script, 0o755);
    const r = await run('dbus-run-session', ['--', script], env, 80_000);
    assert.equal(r.code, 0, r.err);
    const report = lastJson(r.out);
    assert.deepEqual(report.probe, { available: true }, r.err);
    assert.deepEqual(
      { ...report, probe: undefined, probeMs: undefined },
      {
        probe: undefined,
        probeMs: undefined,
        setOk: true,
        readBack: true,
        secretTool: true,
        deleted: true,
        goneAfterDelete: true,
        secretToolAfterDelete: null,
        createdRemembered: true,
        unlockSource: 'keychain',
        changeKeychain: 'updated',
        unlockAfterChange: 'keychain',
        forgot: true,
        // Nothing remembered any more, and the prompter refuses: the password would be needed.
        unlockAfterForget: 'cancelled',
      },
    );
  },
);

test('without D-Bus the probe says unavailable, with a reason, within its timeout', { timeout: 30_000 }, async () => {
  const { dir, env } = await isolatedEnv(); // no DBUS_SESSION_BUS_ADDRESS, no DISPLAY
  const r = await run(process.execPath, ['--import', 'tsx', CHILD, 'probe-only', join(dir, 'home')], env, 25_000);
  assert.equal(r.code, 0, r.err);
  const report = lastJson(r.out);
  const probe = report.probe as { available: boolean; reason?: string };
  assert.equal(probe.available, false);
  assert.ok(probe.reason && probe.reason.length > 0);
  assert.ok((report.probeMs as number) <= 2500, `probe took ${String(report.probeMs)} ms`);
});

test('a keychain that hangs or fails is reported, never thrown, and bounded by the timeout', async () => {
  const hanging: KeytarLike = {
    getPassword: () => new Promise(() => undefined),
    setPassword: () => new Promise(() => undefined),
    deletePassword: () => new Promise(() => undefined),
  };
  const started = performance.now();
  const probe = await probeKeychain({ keytar: hanging, timeoutMs: 200 });
  assert.ok(performance.now() - started < 1500);
  assert.deepEqual(probe, { available: false, reason: 'the keychain did not answer within 200 ms' });

  const cache = new KeychainCache({ home: '/h', user: 'alice', keytar: hanging, timeoutMs: 100 });
  const got = await cache.get();
  assert.ok(!got.ok);
  assert.equal(got.error.code, 'keychain_unavailable');
  assert.match(got.error.message, /read.*did not answer within 100 ms/);

  const failing: KeytarLike = {
    getPassword: () => Promise.reject(new Error('Cannot autolaunch D-Bus without X11 $DISPLAY\nmore detail')),
    setPassword: () => Promise.reject(new Error('Cannot autolaunch D-Bus without X11 $DISPLAY')),
    deletePassword: () => Promise.reject(new Error('Cannot autolaunch D-Bus without X11 $DISPLAY')),
  };
  assert.deepEqual(await probeKeychain({ keytar: failing }), {
    available: false,
    reason: 'Cannot autolaunch D-Bus without X11 $DISPLAY',
  });
  // The secret cache's own status is the same probe, through the cache's keytar.
  assert.deepEqual(await new KeychainCache({ home: '/h', keytar: failing }).status(), {
    available: false,
    reason: 'Cannot autolaunch D-Bus without X11 $DISPLAY',
  });
  const failed = await new KeychainCache({ home: '/h', keytar: failing }).set(Buffer.alloc(32));
  assert.deepEqual(failed, {
    ok: false,
    error: { code: 'keychain_unavailable', message: 'Cannot autolaunch D-Bus without X11 $DISPLAY' },
  });

  // A store that "works" but loses writes (the read-only probe would be fooled) is not available.
  const forgetful: KeytarLike = {
    getPassword: async () => null,
    setPassword: async () => undefined,
    deletePassword: async () => true,
  };
  assert.deepEqual(await probeKeychain({ keytar: forgetful }), {
    available: false,
    reason: 'the keychain did not return what was just stored',
  });
});

test('one entry per Airlock home and user', () => {
  assert.equal(
    new KeychainCache({ home: '/home/a/.airlock', user: 'alice' }).account,
    'unlock-key:alice@/home/a/.airlock',
  );
  assert.notEqual(
    new KeychainCache({ home: '/x', user: 'alice' }).account,
    new KeychainCache({ home: '/y', user: 'alice' }).account,
  );
});
