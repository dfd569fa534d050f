import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID, sign, verify } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as pty from 'node-pty';
import { ConfigStore } from '../../core/identity/config-store.js';
import { airlockPaths } from '../../core/paths.js';
import { UserKeyStore } from '../../core/identity/user-key-store.js';

/** The real `airlock` wrapper at the repo root, run under a real pseudo-terminal. */
const REPO = fileURLToPath(new URL('../../../../../', import.meta.url));
const AIRLOCK = join(REPO, 'airlock');
const TIMEOUT = { timeout: 120_000 };
const WAIT_MS = 30_000;

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'airlock-keycli-'));
  dirs.push(d);
  return d;
}

/** The child's environment: its own home, no askpass, and no session bus (keychain deterministically absent). */
function childEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !['AIRLOCK_ASKPASS', 'DBUS_SESSION_BUS_ADDRESS', 'DISPLAY'].includes(k)) env[k] = v;
  return { ...env, AIRLOCK_HOME: home, ...extra };
}

/** `airlock …` on a pty: wait for output, type answers, collect the exit code. */
class Terminal {
  output = '';
  private seen = 0;
  private readonly proc: pty.IPty;
  private readonly listeners = new Set<() => void>();
  readonly exited: Promise<number>;

  constructor(args: string[], home: string) {
    this.proc = pty.spawn(AIRLOCK, args, { name: 'xterm', cols: 120, rows: 40, cwd: REPO, env: childEnv(home) });
    this.proc.onData((d) => {
      this.output += d;
      for (const l of this.listeners) l();
    });
    this.exited = new Promise((resolve) => this.proc.onExit((e) => resolve(e.exitCode)));
  }

  /** Resolves once `re` matches output not yet consumed; fails with the whole output after `ms`. */
  expect(re: RegExp, ms = WAIT_MS): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = re.exec(this.output.slice(this.seen));
        if (!m) return false;
        this.seen += m.index + m[0].length;
        this.listeners.delete(check);
        clearTimeout(timer);
        resolve(m);
        return true;
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`timed out waiting for ${re} in:\n${this.output}`));
      }, ms);
      this.listeners.add(check);
      check();
    });
  }

  type(line: string): void {
    this.proc.write(line);
  }

  async exitCode(ms = WAIT_MS): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.proc.kill('SIGKILL');
        reject(new Error(`did not exit; output:\n${this.output}`));
      }, ms);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** `airlock …` without any terminal (own session, stdin a pipe): for usage errors and askpass. */
function airlockNoTty(home: string, args: string[], extra: Record<string, string> = {}) {
  const child = spawn(AIRLOCK, args, { env: childEnv(home, extra), detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), WAIT_MS);
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

async function homeWithKey(password: string, config: Record<string, string> = {}) {
  const home = join(await tempDir(), 'home');
  const paths = airlockPaths(home);
  const store = new UserKeyStore(paths, { scryptN: 2 ** 14 });
  const created = await store.generate(password);
  assert.ok(created.ok);
  await new ConfigStore(paths).writeConfig(config);
  return { home, store, key: created.value.key };
}

const PASSWORD_PROMPT = /Password for your Airlock key SHA256:[A-Za-z0-9+/]{43}: $/;

test(
  'passwd on a terminal: hidden input, three tries, weak and mismatched new passwords re-asked',
  TIMEOUT,
  async () => {
    const { home, store, key } = await homeWithKey('first password', { user: 'alice' });
    const t = new Terminal(['passwd'], home);
    await t.expect(PASSWORD_PROMPT);
    t.type('wrong guess\r');
    await t.expect(/wrong password; try again/);
    await t.expect(PASSWORD_PROMPT);
    t.type('first password\r');
    await t.expect(/New password: $/);
    t.type('tiny7\r');
    await t.expect(/the password is too short \(at least 8 characters\); try again/);
    await t.expect(/New password: $/);
    t.type('second password\r');
    await t.expect(/Repeat the new password: $/);
    t.type('second passwordX\r');
    await t.expect(/the two passwords do not match; try again/);
    await t.expect(/New password: $/);
    t.type('second password\r');
    await t.expect(/Repeat the new password: $/);
    t.type('second password\r');
    await t.expect(new RegExp(`changed the password of your key ${key.fingerprint.replace(/[+/]/g, '\\$&')}`));
    assert.equal(await t.exitCode(), 0, t.output);
    for (const secret of ['wrong guess', 'first password', 'second password', 'tiny7'])
      assert.ok(!t.output.includes(secret));

    assert.equal(await store.mode(), 0o600);
    const old = await store.unlockWithPassword('first password');
    assert.equal(!old.ok && old.error.code, 'wrong_password');
    const now = await store.unlockWithPassword('second password');
    assert.ok(now.ok);
    assert.equal(now.value.key.fingerprint, key.fingerprint);
  },
);

test('Ctrl-C at a password prompt cancels cleanly; three wrong passwords fail with a hint', TIMEOUT, async () => {
  const { home, store } = await homeWithKey('the password');
  const t = new Terminal(['passwd'], home);
  await t.expect(PASSWORD_PROMPT);
  t.type('half typed\x03');
  await t.expect(/airlock: cancelled/);
  assert.equal(await t.exitCode(), 255);

  const three = new Terminal(['passwd'], home);
  for (const guess of ['one', 'two', 'three']) {
    await three.expect(PASSWORD_PROMPT);
    three.type(`${guess}\r`);
  }
  await three.expect(
    /airlock: wrong password \(3 tries\) — if you forgot it, restore a backup with `airlock backup import <file> --force`/,
  );
  assert.equal(await three.exitCode(), 255);
  assert.ok((await store.unlockWithPassword('the password')).ok);
});

test(
  'backup export, then import into another AIRLOCK_HOME: same key, same settings; no silent overwrite',
  TIMEOUT,
  async () => {
    const settings = {
      relayUrl: 'https://relay.example.org',
      relayPin: `sha256/${'B'.repeat(43)}=`,
      user: 'alice',
      deviceId: randomUUID(),
    };
    const a = await homeWithKey('password on A', settings);
    const backup = join(await tempDir(), 'alice.airlock-backup');

    const ex = new Terminal(['backup', 'export', backup], a.home);
    await ex.expect(PASSWORD_PROMPT);
    ex.type('password on A\r');
    await ex.expect(/Choose a password for the backup/);
    await ex.expect(/New backup password: $/);
    ex.type('backup password\r');
    await ex.expect(/Repeat the new backup password: $/);
    ex.type('backup password\r');
    await ex.expect(/wrote an encrypted backup of your key SHA256:\S+ to /);
    assert.equal(await ex.exitCode(), 0, ex.output);
    assert.equal((await stat(backup)).mode & 0o777, 0o600);

    const again = await airlockNoTty(a.home, ['backup', 'export', backup]);
    assert.equal(again.code, 255);
    assert.equal(
      again.stderr,
      `airlock: ${backup} already exists; refusing to overwrite it — choose another file or use --force\n`,
    );

    const b = join(await tempDir(), 'home-b');
    const im = new Terminal(['backup', 'import', backup], b);
    await im.expect(/Backup password for .*: $/);
    im.type('not it\r');
    await im.expect(/wrong backup password; try again/);
    await im.expect(/Backup password for .*: $/);
    im.type('backup password\r');
    await im.expect(/New password: $/);
    im.type('password on B\r');
    await im.expect(/Repeat the new password: $/);
    im.type('password on B\r');
    await im.expect(/restored your key SHA256:\S+ \(relay https:\/\/relay\.example\.org, user alice\) from /);
    assert.equal(await im.exitCode(), 0, im.output);

    const storeB = new UserKeyStore(airlockPaths(b));
    assert.equal(await storeB.mode(), 0o600);
    const onB = await storeB.unlockWithPassword('password on B');
    assert.ok(onB.ok);
    assert.equal(onB.value.key.fingerprint, a.key.fingerprint);
    const challenge = Buffer.from('login challenge');
    assert.ok(verify('sha256', challenge, a.key.publicKeyPem, sign('sha256', challenge, onB.value.key.privateKey)));
    assert.deepEqual(JSON.parse(await readFile(airlockPaths(b).config, 'utf8')), settings);

    const refused = await airlockNoTty(b, ['backup', 'import', backup]);
    assert.equal(refused.code, 255);
    assert.match(
      refused.stderr,
      /^airlock: a user key already exists at .*user-key\.json; refusing to overwrite it — use --force/,
    );

    // --force replaces the key on B with another one.
    const other = await homeWithKey('other password');
    const otherBackup = join(await tempDir(), 'other.backup');
    const ex2 = new Terminal(['backup', 'export', otherBackup], other.home);
    await ex2.expect(PASSWORD_PROMPT);
    ex2.type('other password\r');
    for (let i = 0; i < 2; i++) {
      await ex2.expect(/backup password: $/);
      ex2.type('backup password 2\r');
    }
    assert.equal(await ex2.exitCode(), 0, ex2.output);
    const forced = new Terminal(['backup', 'import', otherBackup, '--force'], b);
    await forced.expect(/Backup password for .*: $/);
    forced.type('backup password 2\r');
    for (let i = 0; i < 2; i++) {
      await forced.expect(/password: $/);
      forced.type('password on B\r');
    }
    assert.equal(await forced.exitCode(), 0, forced.output);
    const replaced = await storeB.unlockWithPassword('password on B');
    assert.ok(replaced.ok);
    assert.equal(replaced.value.key.fingerprint, other.key.fingerprint);
  },
);

test('keychain status and forget without a keychain; usage errors exit 2', TIMEOUT, async () => {
  const { home } = await homeWithKey('the password', { user: 'alice' });
  const status = await airlockNoTty(home, ['keychain', 'status']);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /^keychain: not available \(.+\)\n$/);
  const json = await airlockNoTty(home, ['keychain', 'status', '--json']);
  const parsed = JSON.parse(json.stdout) as { available: boolean; reason: string; account: string };
  assert.equal(parsed.available, false);
  assert.equal(parsed.account, `unlock-key:alice@${home}`);
  const forget = await airlockNoTty(home, ['keychain', 'forget']);
  assert.equal(forget.code, 255);
  assert.match(forget.stderr, /^airlock: cannot reach the keychain: .+ — nothing was changed\n$/);

  const usage = await airlockNoTty(home, ['backup', 'import']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /missing required argument 'file'/);
  // A file that never ends is read no further than any backup could be.
  const endless = await airlockNoTty(home, ['backup', 'import', '/dev/zero', '--force']);
  assert.equal(endless.code, 255);
  assert.match(
    endless.stderr,
    /^airlock: \/dev\/zero holds more than 8388608 bytes: that is not an Airlock key backup\n$/,
  );
});

test('no terminal: a clear error; AIRLOCK_ASKPASS answers the prompts instead', TIMEOUT, async () => {
  const { home, store } = await homeWithKey('first password');
  const none = await airlockNoTty(home, ['passwd']);
  assert.equal(none.code, 255);
  assert.equal(none.stderr, 'airlock: no terminal to ask for the password; run in a terminal or set AIRLOCK_ASKPASS\n');

  const askpass = join(await tempDir(), 'askpass');
  await writeFile(
    askpass,
    '#!/bin/sh\ncase "$1" in\n  Password*) echo "first password" ;;\n  *) echo "askpass password" ;;\nesac\n',
  );
  await chmod(askpass, 0o755);
  const r = await airlockNoTty(home, ['passwd'], { AIRLOCK_ASKPASS: askpass });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^changed the password of your key SHA256:/);
  assert.ok((await store.unlockWithPassword('askpass password')).ok);
});
