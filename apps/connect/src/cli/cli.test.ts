import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { portOf, startDigestService } from '@airlock/shared/testing';
import { startFakeRelay, type FakeRelay } from '../core/test-support/fake-relay.js';

/** The real `airlock` wrapper script at the repo root, run as a child process. */
const AIRLOCK = fileURLToPath(new URL('../../../../airlock', import.meta.url));
const TIMEOUT = { timeout: 30_000 };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function airlock(home: string, args: string[], input?: string | Buffer): Promise<Run> {
  const child = spawn(AIRLOCK, args, { env: { ...process.env, AIRLOCK_HOME: home }, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d));
  child.stdin.end(input);
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

let home: string;
let relay: FakeRelay;
let svcPort: number;
let svc: Server;

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'airlock-cli-'));
  svc = await startDigestService();
  svcPort = portOf(svc);
  const key = await airlock(home, ['key', 'generate', '--json']);
  assert.equal(key.code, 0, key.stderr);
  const { publicKeyPem, fingerprint } = JSON.parse(key.stdout) as { publicKeyPem: string; fingerprint: string };
  relay = await startFakeRelay({ users: { alice: publicKeyPem }, acceptUserKey: fingerprint, ports: [svcPort] });
});

after(async () => {
  await relay?.close();
  svc?.close();
  await rm(home, { recursive: true, force: true });
});

test('before login: commands say to log in; unknown user gets the admin command', TIMEOUT, async () => {
  const vms = await airlock(home, ['vms']);
  assert.equal(vms.code, 255);
  assert.match(vms.stderr, /^airlock: no relay configured — run `airlock login --relay <url> --user <name>` first\n$/);

  const bob = await airlock(home, ['login', '--relay', relay.url, '--user', 'bob']);
  assert.equal(bob.code, 255);
  assert.match(bob.stderr, /did not accept user "bob"/);
  assert.match(bob.stderr, new RegExp(`airlock-relay user add bob --public-key ${join(home, 'user-key.pub.pem')}`));
  assert.match(bob.stderr, /-----BEGIN PUBLIC KEY-----/);
  assert.match(bob.stderr, /Fingerprint: SHA256:/);
  assert.equal(bob.stdout, '');

  const notYet = await airlock(home, ['vms']);
  assert.equal(notYet.code, 255);
  assert.match(notYet.stderr, /not logged in to .* — run `airlock login`/);
});

test('login, vms, exec, shell, sftp-stdio, refusals', TIMEOUT, async () => {
  const login = await airlock(home, ['login', '--relay', relay.url, '--user', 'alice']);
  assert.equal(login.code, 0, login.stderr);
  assert.match(login.stdout, /^logged in to http:\/\/127\.0\.0\.1:\d+ as alice/);
  assert.equal((await stat(join(home, 'session.json'))).mode & 0o777, 0o600);
  assert.equal(JSON.parse(await readFile(join(home, 'config.json'), 'utf8')).user, 'alice');

  const [vmsJson, vmsTable, failing, cat, shell, sftp, offline, notAllowed, dropped] = await Promise.all([
    airlock(home, ['vms', '--json']),
    airlock(home, ['vms']),
    airlock(home, ['exec', 'demo-vm', '--', 'fail', '3']),
    airlock(home, ['exec', 'demo-vm', '--', 'cat'], 'piped input\n'),
    airlock(home, ['shell', 'demo-vm'], 'hello\nexit 5\n'),
    airlock(home, ['sftp-stdio', 'demo-vm'], Buffer.from([0, 0, 0, 5, 1, 0, 0, 0, 3])),
    airlock(home, ['exec', 'off-vm', '--', 'true']),
    airlock(home, ['forward', 'demo-vm', '22']),
    airlock(home, ['exec', 'demo-vm', '--', 'drop']),
  ]);
  assert.equal(vmsJson.code, 0, vmsJson.stderr);
  assert.deepEqual(JSON.parse(vmsJson.stdout).vms[0], { id: 'demo-vm', online: true, ports: [svcPort] });
  assert.match(vmsTable.stdout, /^VM\s+STATUS\s+PORTS\ndemo-vm\s+online\s+\d+\noff-vm\s+offline\s+-\n$/);

  assert.equal(failing.code, 3, failing.stderr);
  assert.equal(failing.stdout, 'to stdout\n');
  assert.equal(failing.stderr, 'to stderr\n');

  assert.equal(cat.code, 0, cat.stderr);
  assert.equal(cat.stdout, 'piped input\n');

  // stdin is a pipe: no pty, like ssh.
  assert.equal(shell.code, 5, shell.stderr);
  assert.equal(shell.stdout, '$ you said: hello\n');

  assert.equal(sftp.code, 0, sftp.stderr);
  assert.deepEqual([...Buffer.from(sftp.stdout, 'latin1')], [0, 0, 0, 5, 1, 0, 0, 0, 3]);
  assert.equal(sftp.stderr, '');

  assert.equal(offline.code, 255);
  assert.match(offline.stderr, /^airlock: the agent of off-vm is not connected — the VM's agent is not connected/);

  assert.equal(dropped.code, 255);
  assert.equal(dropped.stdout, 'partial\n');
  assert.match(
    dropped.stderr,
    /^airlock: the agent closed the session: agent went away \[session [0-9a-f-]{36}\] — try again/,
  );

  assert.equal(notAllowed.code, 255);
  assert.match(
    notAllowed.stderr,
    new RegExp(`^airlock: port 22 on demo-vm is not allowed for you \\(allowed: ${svcPort}\\)`),
  );
});

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
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { sessionId: string; localPort: number; remotePort: number; localHost: string });
    assert.equal(lines.length, 2, stderr);
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
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    srv.close();
    const r = await airlock(dead, ['login', '--relay', url, '--user', 'alice']);
    assert.equal(r.code, 255);
    assert.match(
      r.stderr,
      new RegExp(`airlock: cannot reach the relay at ${url}: connection refused — check the relay URL`),
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /); // no stack trace
  } finally {
    await rm(dead, { recursive: true, force: true });
  }
});
