import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CloseCode, formatOneTimeCode } from '@airlock/shared';
import { portOf, sendAndHalfClose, startDigestService } from '@airlock/shared/testing';
import { enrolledHome } from '../core/test-support/enrolled-home.js';
import { startFakeRelay, type FakeRelay } from '../core/test-support/fake-relay.js';
import { AIRLOCK, airlock, pastNotice } from './test-support/run-airlock.js';

const TIMEOUT = { timeout: 30_000 };

let home: string;
let relay: FakeRelay;
let svcPort: number;
let svc: Server;

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'airlock-cli-'));
  svc = await startDigestService();
  svcPort = portOf(svc);
  relay = await startFakeRelay({ ports: [svcPort] });
  // Every test that needs a logged-in device uses this one, enrolled here rather than by whichever
  // test happens to run first, so each test runs alone (`--test-name-pattern`) and in any order.
  await enrolledHome(relay, home);
});

after(async () => {
  await relay?.close();
  svc?.close();
  await rm(home, { recursive: true, force: true });
});

test('before enrolling: commands say to enroll; login no longer takes --relay/--user', TIMEOUT, async () => {
  const fresh = await mkdtemp(join(tmpdir(), 'airlock-cli-fresh-'));
  try {
    const vms = await airlock(fresh, ['vms']);
    assert.equal(vms.code, 255);
    assert.match(
      vms.stderr,
      /^airlock: this device is not enrolled with a relay yet \(nothing in (\S+); AIRLOCK_HOME sets the folder\) — enroll this device with `airlock enroll <relay-url> <code>`/,
    );
    assert.ok(vms.stderr.includes(`nothing in ${fresh};`), 'names the folder it looked in');
    const old = await airlock(fresh, ['login', '--relay', relay.url, '--user', 'alice']);
    assert.equal(old.code, 2);
    assert.match(old.stderr, /no longer takes --relay or --user.*airlock enroll <relay-url> <code>/);
    const key = await airlock(fresh, ['key', 'show']);
    assert.equal(key.code, 255);
    assert.match(key.stderr, /no user key at .* — enroll this device/);
    // AIRLOCK_HOME that is a file, and a config.json that is a folder: what is in the way, named.
    const aFile = join(fresh, 'a-file');
    await writeFile(aFile, 'not a folder');
    const notDir = await airlock(aFile, ['vms']);
    assert.equal(notDir.code, 255);
    assert.match(
      notDir.stderr,
      /^airlock: cannot read \S+a-file\/config\.json \(ENOTDIR\): Airlock keeps its files in the folder \S+a-file; fix or move what is in the way\n$/,
    );
    await mkdir(join(fresh, 'config.json'));
    const isDir = await airlock(fresh, ['vms']);
    assert.equal(isDir.code, 255);
    assert.match(isDir.stderr, /^airlock: cannot read \S+config\.json \(EISDIR\)/);
    // A log folder that cannot be made (Node's own recursive mkdir never returns under /proc).
    const noLogs = await airlock(join(fresh, 'other'), ['vms'], undefined, { AIRLOCK_LOG_DIR: '/proc/airlock-nope' });
    assert.equal(noLogs.code, 255);
    assert.match(noLogs.stderr, /this device is not enrolled/);
  } finally {
    await rm(fresh, { recursive: true, force: true });
  }
});

test(
  'enroll refuses http://, foreign codes, and a relay whose key is not the pinned one (before any request)',
  TIMEOUT,
  async () => {
    const fresh = await mkdtemp(join(tmpdir(), 'airlock-cli-refuse-'));
    try {
      const code = relay.enrollmentCode('carol');
      const plain = await airlock(fresh, ['enroll', relay.url.replace('https:', 'http:'), code]);
      assert.equal(plain.code, 255);
      assert.match(
        plain.stderr,
        /^airlock: the relay is HTTPS only; use https:\/\/127\.0\.0\.1:\d+ instead of http:\/\//,
      );

      const agentToken = formatOneTimeCode('agent', 'a'.repeat(43), relay.pin);
      const foreign = await airlock(fresh, ['enroll', relay.url, agentToken]);
      assert.equal(foreign.code, 255);
      assert.match(foreign.stderr, /bad enrollment code: this is an agent enrollment token/);

      const requestsBefore = relay.seen.http.length;
      const wrongPin = formatOneTimeCode(
        'user',
        code.split('.')[1]!,
        'sha256/' + Buffer.alloc(32, 7).toString('base64'),
      );
      const mismatch = await airlock(fresh, ['enroll', relay.url, wrongPin]);
      assert.equal(mismatch.code, 255);
      assert.match(mismatch.stderr, /does not match the pin from your enrollment code.*tell your admin/s);
      assert.equal(relay.seen.http.length, requestsBefore, 'no HTTP request reached the relay');
      assert.doesNotMatch(mismatch.stderr, /password/i, 'refused before asking for a password');
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
  },
);

test('vms, exec, shell, sftp-stdio and refusals on the saved login (no terminal, no password)', TIMEOUT, async () => {
  assert.equal((await stat(join(home, 'session.json'))).mode & 0o777, 0o600);
  assert.equal(JSON.parse(await readFile(join(home, 'config.json'), 'utf8')).user, 'alice');

  const [vmsJson, vmsTable, failing, cat, shell, sftp, offline, notAllowed, dropped, keyShow] = await Promise.all([
    airlock(home, ['vms', '--json']),
    airlock(home, ['vms']),
    airlock(home, ['exec', 'demo-vm', '--', 'fail', '3']),
    airlock(home, ['exec', 'demo-vm', '--', 'cat'], 'piped input\n'),
    airlock(home, ['shell', 'demo-vm'], 'hello\nexit 5\n'),
    airlock(home, ['sftp-stdio', 'demo-vm'], Buffer.from([0, 0, 0, 5, 1, 0, 0, 0, 3])),
    airlock(home, ['exec', 'off-vm', '--', 'true']),
    airlock(home, ['forward', 'demo-vm', '22']),
    airlock(home, ['exec', 'demo-vm', '--', 'drop']),
    airlock(home, ['key', 'show', '--json']),
  ]);

  assert.equal(vmsJson.code, 0, vmsJson.stderr);
  assert.equal(JSON.parse(vmsJson.stdout).trust, 'relay-only');
  assert.deepEqual(JSON.parse(vmsJson.stdout).vms[0], {
    id: 'demo-vm',
    online: true,
    ports: [svcPort],
    certificate: { state: 'relay-only' },
  });
  assert.equal(pastNotice(vmsJson), '');
  assert.equal(pastNotice(vmsTable), '');
  assert.match(vmsTable.stdout, /^VM\s+STATUS\s+PORTS\ndemo-vm\s+online\s+\d+\noff-vm\s+offline\s+-\n$/);

  assert.equal(failing.code, 3, failing.stderr);
  assert.equal(failing.stdout, 'to stdout\n');
  assert.equal(pastNotice(failing), 'to stderr\n');

  assert.equal(cat.code, 0, cat.stderr);
  assert.equal(cat.stdout, 'piped input\n');

  // stdin is a pipe: no pty, like ssh.
  assert.equal(shell.code, 5, shell.stderr);
  assert.equal(shell.stdout, '$ you said: hello\n');

  assert.equal(sftp.code, 0, sftp.stderr);
  assert.deepEqual([...Buffer.from(sftp.stdout, 'latin1')], [0, 0, 0, 5, 1, 0, 0, 0, 3]);
  assert.equal(pastNotice(sftp), '');

  assert.equal(offline.code, 255);
  assert.match(
    pastNotice(offline),
    /^airlock: the agent of off-vm is not connected — start the VM or its agent, or ask an admin/,
  );

  assert.equal(dropped.code, 255);
  assert.equal(dropped.stdout, 'partial\n');
  assert.match(
    pastNotice(dropped),
    /^airlock: the agent closed the session: agent went away \[session [0-9a-f-]{36}\] — try again/,
  );

  assert.equal(keyShow.code, 0, keyShow.stderr);
  assert.match(JSON.parse(keyShow.stdout).fingerprint, /^SHA256:/);
  assert.equal(keyShow.stderr, '', 'key show does not talk to the relay: no trust notice');

  assert.equal(notAllowed.code, 255);
  assert.match(
    pastNotice(notAllowed),
    new RegExp(`^airlock: port 22 on demo-vm is not allowed for you \\(allowed: ${svcPort}\\)`),
  );
});

test(
  'the trust notice: once per command on a u1 enrollment, silenced by AIRLOCK_QUIET_TRUST=1 but still logged',
  TIMEOUT,
  async () => {
    const loud = await airlock(home, ['vms', '--json']);
    assert.equal(loud.code, 0, loud.stderr);
    assert.equal(pastNotice(loud), '');
    assert.equal(JSON.parse(loud.stdout).trust, 'relay-only', 'stdout stays the JSON alone');
    const quiet = await airlock(home, ['vms'], undefined, { AIRLOCK_QUIET_TRUST: '1' });
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, '');
    assert.match(quiet.stdout, /^VM\s+STATUS\s+PORTS\n/);
    const log = await readFile(join(home, 'logs', 'connect.log'), 'utf8');
    assert.match(log, /"trust":"relay-only","quiet":true,.*"msg":"this device pinned no organisation root/);
  },
);

test('forward prints the local port, carries bytes with half-close, stops on SIGTERM', TIMEOUT, async () => {
  const child = spawn(AIRLOCK, ['forward', 'demo-vm', String(svcPort), `${svcPort}:0`, '--json'], {
    env: { ...process.env, AIRLOCK_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 15_000;
    while (out.split('\n').length < 3 && Date.now() < deadline && child.exitCode === null)
      await new Promise((r) => setTimeout(r, 25));
    const printed = out.trim().split('\n').filter(Boolean);
    assert.equal(printed.length, 2, `one line per forward; stdout: ${out} stderr: ${stderr}`);
    const lines = printed.map(
      (l) => JSON.parse(l) as { sessionId: string; localPort: number; remotePort: number; localHost: string },
    );
    const payload = randomBytes(1024 * 1024);
    const expected = `${payload.length}:${createHash('sha256').update(payload).digest('hex')}`;
    for (const f of lines) {
      assert.match(f.sessionId, /^[0-9a-f-]{36}$/);
      assert.equal(f.localHost, '127.0.0.1');
      assert.equal(f.remotePort, svcPort);
      const sock = connect({ host: '127.0.0.1', port: f.localPort, allowHalfOpen: true });
      const reply: Buffer[] = [];
      sock.on('data', (d: Buffer) => reply.push(d));
      sock.end(payload);
      await once(sock, 'end');
      sock.destroy();
      assert.equal(Buffer.concat(reply).toString(), expected);
    }
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0, stderr);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('an unreachable relay is one clear line and exit 255', TIMEOUT, async () => {
  const dead = await mkdtemp(join(tmpdir(), 'airlock-cli-dead-'));
  try {
    const srv = createServer();
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const url = `https://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    srv.close();
    const r = await airlock(dead, ['enroll', url, relay.enrollmentCode('dave')]);
    assert.equal(r.code, 255);
    assert.match(
      r.stderr,
      new RegExp(`^airlock: cannot reach the relay at ${url}: connection refused — check the relay URL`),
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /); // no stack trace
  } finally {
    await rm(dead, { recursive: true, force: true });
  }
});

test('an expired login off a terminal says to log in again, exit 255', TIMEOUT, async () => {
  const session = JSON.parse(await readFile(join(home, 'session.json'), 'utf8')) as { expiresAt: string };
  const expiredHome = await mkdtemp(join(tmpdir(), 'airlock-cli-expired-'));
  try {
    for (const f of ['config.json', 'user-key.json', 'user-key.pub.pem'])
      await writeFile(join(expiredHome, f), await readFile(join(home, f)));
    await writeFile(
      join(expiredHome, 'session.json'),
      JSON.stringify({ ...session, expiresAt: new Date(Date.now() - 1000).toISOString() }),
      { mode: 0o600 },
    );
    for (const args of [['vms'], ['exec', 'demo-vm', '--', 'true'], ['forward', 'demo-vm', String(svcPort)]]) {
      const r = await airlock(expiredHome, args);
      assert.equal(r.code, 255, args.join(' '));
      assert.equal(pastNotice(r), 'airlock: your login expired — run `airlock login`\n', args.join(' '));
    }
  } finally {
    await rm(expiredHome, { recursive: true, force: true });
  }
});

test(
  'forward survives its session ending: same local port after reconnecting; a revocation stops it',
  TIMEOUT,
  async () => {
    const child = spawn(AIRLOCK, ['forward', 'demo-vm', `${svcPort}:0`, '--json'], {
      env: { ...process.env, AIRLOCK_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let out = '';
    const waitFor = (what: () => boolean, label: string) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${label}; stderr: ${stderr}`)), 15_000);
        const check = () => {
          if (!what()) return;
          clearTimeout(timer);
          child.stdout.off('data', check);
          child.stderr.off('data', check);
          resolve();
        };
        child.stdout.on('data', check);
        child.stderr.on('data', check);
        check();
      });
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      await waitFor(() => out.includes('\n'), 'the forward line');
      const { localPort, sessionId } = JSON.parse(out.split('\n')[0]!) as { localPort: number; sessionId: string };
      const payload = randomBytes(100_000);
      const expected = `${payload.length}:${createHash('sha256').update(payload).digest('hex')}`;
      assert.equal(await sendAndHalfClose(localPort, payload), expected);

      relay.dropSessions(CloseCode.peerClosed, 'agent restarted');
      await waitFor(() => /reconnected to demo-vm \[session [0-9a-f-]{36}\]/.test(stderr), 'the reconnect');
      assert.match(stderr, /the agent closed the session: agent restarted \[session [0-9a-f-]{36}\]; reconnecting/);
      assert.ok(!stderr.includes(`reconnected to demo-vm [session ${sessionId}]`));
      assert.equal(await sendAndHalfClose(localPort, payload), expected);

      relay.dropSessions(CloseCode.revoked, 'this device was revoked');
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 255, stderr);
      assert.match(
        stderr,
        /airlock: the relay ended the session: this device was revoked \[session [0-9a-f-]{36}\] — ask your admin\n$/,
      );
      const sock = connect({ host: '127.0.0.1', port: localPort });
      const [e] = (await once(sock, 'error')) as [NodeJS.ErrnoException];
      assert.equal(e.code, 'ECONNREFUSED');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  },
);

test('ui with an unknown log level: refused before any address is given', TIMEOUT, async () => {
  const r = await airlock(home, ['ui', '--no-open'], undefined, { AIRLOCK_LOG_LEVEL: 'chatty' });
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '', 'no address printed');
  assert.match(r.stderr, /^airlock: unknown log level "chatty" — use one of fatal, error/);
});

test(
  'ui on a first run, with a display: home made, browser sent on through a 0600 page that goes with the launch',
  TIMEOUT,
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'airlock-ui-first-'));
    try {
      const fresh = join(dir, 'never-used');
      const bin = join(dir, 'bin');
      await mkdir(bin);
      // xdg-open as a desktop has it, recording what it was asked to open.
      await writeFile(join(bin, 'xdg-open'), `#!/bin/sh\necho "$1" > ${join(dir, 'opened')}\n`, { mode: 0o755 });
      const child = spawn(AIRLOCK, ['ui'], {
        env: { ...process.env, AIRLOCK_HOME: fresh, DISPLAY: ':99', PATH: `${bin}:${process.env.PATH}` },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = once(child, 'exit') as Promise<[number | null]>;
      const deadline = Date.now() + 20_000;
      while (!out.includes('Airlock is open in your browser') && child.exitCode === null && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      assert.match(out, /Airlock is open in your browser/, err);
      const page = join(fresh, 'open-airlock.html');
      assert.equal((await stat(fresh)).mode & 0o777, 0o700);
      assert.equal((await stat(page)).mode & 0o777, 0o600);
      while (Date.now() < deadline && !(await stat(join(dir, 'opened')).catch(() => undefined)))
        await new Promise((r) => setTimeout(r, 50));
      assert.equal((await readFile(join(dir, 'opened'), 'utf8')).trim(), page);
      child.kill('SIGTERM');
      const [code] = await exited;
      assert.equal(code, 0, err);
      await assert.rejects(stat(page), { code: 'ENOENT' }, 'the page with the secret is gone');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);
