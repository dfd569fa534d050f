import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { startFakeRelay, type FakeRelayOptions } from './test-support/fake-relay.js';
import { userKeyFromPrivateKey, type UserKey } from './user-key-store.js';
import { dataSocketUrl } from './data-socket.js';
import { openVmSession, type VmSession } from './vm-session.js';

const TIMEOUT = { timeout: 20_000 };

function newUserKey(): UserKey {
  return userKeyFromPrivateKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
}

async function readAll(r: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString();
}

function openAt(relayUrl: string, userKey: UserKey, timeoutMs: number) {
  return openVmSession({ relayUrl, token: 't', vm: 'demo-vm', user: 'alice', userKey, timeoutMs });
}

async function withSession<T>(
  options: FakeRelayOptions,
  body: (session: VmSession, relay: Awaited<ReturnType<typeof startFakeRelay>>) => Promise<T>,
): Promise<T> {
  const userKey = newUserKey();
  const relay = await startFakeRelay({ acceptUserKey: userKey.fingerprint, ...options });
  try {
    const opened = await openAt(relay.url, userKey, 10_000);
    if (!opened.ok) throw new Error(`${opened.error.code}: ${opened.error.message}`);
    try {
      return await body(opened.value, relay);
    } finally {
      await opened.value.close();
    }
  } finally {
    await relay.close();
  }
}

test('data socket URL carries only the session id; the ticket goes in the Authorization header', TIMEOUT, async () => {
  assert.equal(dataSocketUrl('https://relay.example.org', 'abc'), 'wss://relay.example.org/ws/connect?sid=abc');
  assert.equal(dataSocketUrl('http://127.0.0.1:7443/', 'abc'), 'ws://127.0.0.1:7443/ws/connect?sid=abc');
  await withSession({}, async (session, relay) => {
    assert.equal(relay.seen.authorization[0], `Bearer ${relay.lastSession!.ticket}`);
    assert.ok(!relay.seen.urls[0]!.includes(relay.lastSession!.ticket));
    assert.equal(session.sessionId, relay.lastSession!.sessionId);
  });
});

test('exec: stdout and stderr apart, exit status, stdin EOF', TIMEOUT, async () => {
  await withSession({}, async (session) => {
    const failing = await session.exec('fail 3');
    assert.ok(failing.ok);
    failing.value.stdin.end();
    const [out, errOut, exit] = await Promise.all([
      readAll(failing.value.stdout),
      readAll(failing.value.stderr),
      failing.value.exit,
    ]);
    assert.equal(out, 'to stdout\n');
    assert.equal(errOut, 'to stderr\n');
    assert.equal(exit.exitStatus, 3);

    const cat = await session.exec('cat');
    assert.ok(cat.ok);
    cat.value.stdin.end('hello through the tunnel');
    const [echoed, catExit] = await Promise.all([readAll(cat.value.stdout), cat.value.exit]);
    assert.equal(echoed, 'hello through the tunnel');
    assert.equal(catExit.exitStatus, 0);
  });
});

test('shell with a pty: pty-req with the size, window-change on resize, exit status', TIMEOUT, async () => {
  await withSession({}, async (session, relay) => {
    const shell = await session.openShell({ term: 'xterm', cols: 100, rows: 30 });
    assert.ok(shell.ok);
    shell.value.resize(120, 40);
    shell.value.stdin.write('hello\n');
    shell.value.stdin.write('exit 7\n');
    const [out, exit] = await Promise.all([readAll(shell.value.stdout), shell.value.exit]);
    assert.match(out, /^pty\$ you said: hello\n/);
    assert.equal(exit.exitStatus, 7);
    assert.deepEqual(relay.seen.requests.slice(0, 2), ['pty-req', 'shell']);
    assert.deepEqual(relay.seen.windowChanges, [
      [100, 30],
      [120, 40],
    ]);
  });
});

test('subsystem sftp opens a channel that carries bytes both ways', TIMEOUT, async () => {
  await withSession({}, async (session, relay) => {
    const sftp = await session.openSubsystem('sftp');
    assert.ok(sftp.ok);
    sftp.value.stdin.end(Buffer.from([0, 0, 0, 5, 1, 0, 0, 0, 3]));
    const out = await readAll(sftp.value.stdout);
    assert.equal(Buffer.from(out, 'binary').length, 9);
    assert.ok(relay.seen.requests.includes('subsystem:sftp'));
    const other = await session.openSubsystem('nope');
    assert.ok(!other.ok);
    assert.equal(other.error.code, 'request_refused');
  });
});

test('host key pinning: a host key other than the registered one is refused', TIMEOUT, async () => {
  const userKey = newUserKey();
  const relay = await startFakeRelay({ acceptUserKey: userKey.fingerprint, registerWrongHostKey: true });
  try {
    const opened = await openAt(relay.url, userKey, 10_000);
    assert.ok(!opened.ok);
    assert.equal(opened.error.code, 'host_key_mismatch');
    if (opened.error.code !== 'host_key_mismatch') return;
    assert.equal(opened.error.registered, relay.lastSession!.hostKeyFingerprint);
    assert.notEqual(opened.error.presented, opened.error.registered);
    assert.match(opened.error.message, /presented host key SHA256:\S+ but the relay registered SHA256:\S+; .*refusing/);
  } finally {
    await relay.close();
  }
});

test('a user key the agent does not accept is auth_failed', TIMEOUT, async () => {
  const relay = await startFakeRelay({ acceptUserKey: newUserKey().fingerprint });
  try {
    const opened = await openAt(relay.url, newUserKey(), 10_000);
    assert.ok(!opened.ok);
    assert.equal(opened.error.code, 'auth_failed');
  } finally {
    await relay.close();
  }
});

test('data plane refusals map to typed errors with the reason', TIMEOUT, async () => {
  const cases: Array<[FakeRelayOptions['dataPlane'], string, RegExp]> = [
    ['reject-401', 'ticket_rejected', /ticket expired 12 s ago/],
    ['agent-refused', 'agent_refused', /user key not in ticket/],
    ['unpaired-timeout', 'agent_unavailable', /did not join/],
  ];
  for (const [dataPlane, code, message] of cases) {
    const relay = await startFakeRelay({ dataPlane });
    try {
      const opened = await openAt(relay.url, newUserKey(), 10_000);
      assert.ok(!opened.ok, String(dataPlane));
      assert.equal(opened.error.code, code, opened.error.message);
      assert.match(opened.error.message, message);
      assert.equal('sessionId' in opened.error && opened.error.sessionId, relay.lastSession!.sessionId);
    } finally {
      await relay.close();
    }
  }
});

test(
  'direct-tcpip: allowed port carries bytes with half-close; others refused fast or by the agent',
  TIMEOUT,
  async () => {
    const svc = createServer({ allowHalfOpen: true }, (sock) => {
      let n = 0;
      sock.on('data', (d: Buffer) => (n += d.length));
      sock.on('end', () => sock.end(`got ${n} bytes`));
    });
    svc.listen(0, '127.0.0.1');
    await once(svc, 'listening');
    const port = (svc.address() as AddressInfo).port;
    try {
      await withSession({ ports: [port, 5901], agentPorts: [port] }, async (session) => {
        const ch = await session.openDirectTcpip(port);
        assert.ok(ch.ok);
        const reply: Buffer[] = [];
        const eof = new Promise<void>((r) => ch.value.onEof(() => r()));
        ch.value.onDataReceived((d) => {
          reply.push(Buffer.from(d));
          ch.value.adjustWindow(d.length);
        });
        await ch.value.send(Buffer.alloc(1000, 1));
        await ch.value.send(Buffer.alloc(0));
        await eof;
        assert.equal(Buffer.concat(reply).toString(), 'got 1000 bytes');

        const notInTicket = await session.openDirectTcpip(22);
        assert.ok(!notInTicket.ok);
        assert.equal(notInTicket.error.code, 'port_not_allowed');
        assert.match(notInTicket.error.message, /port 22 on demo-vm is not allowed.*allowed: \d+, 5901/);

        const agentSaysNo = await session.openDirectTcpip(5901);
        assert.ok(!agentSaysNo.ok);
        assert.equal(agentSaysNo.error.code, 'port_not_allowed');
        assert.match(agentSaysNo.error.message, /not allowed by the agent policy/);
      });
    } finally {
      svc.close();
    }
  },
);

test('an agent that never answers the SSH handshake is a connect_timeout, not a hang', TIMEOUT, async () => {
  const relay = await startFakeRelay({ dataPlane: 'silent-agent' });
  try {
    const opened = await openAt(relay.url, newUserKey(), 300);
    assert.ok(!opened.ok);
    assert.equal(opened.error.code, 'connect_timeout');
    assert.match(opened.error.message, /no SSH handshake from the agent of demo-vm/);
  } finally {
    await relay.close();
  }
});

test('onClosed fires with the session id when the session ends', TIMEOUT, async () => {
  await withSession({}, async (session, relay) => {
    const closed = new Promise<{ sessionId: string }>((r) => session.onClosed(r));
    await relay.close();
    const e = await closed;
    assert.equal(e.sessionId, session.sessionId);
    assert.equal(session.isClosed, true);
    const after = await session.exec('true');
    assert.ok(!after.ok);
    assert.equal(after.error.code, 'session_closed');
  });
});

test('a channel the VM side tries to open towards Connect is refused', TIMEOUT, async () => {
  await withSession({}, async (_session, relay) => {
    const agentSide = relay.agentSessions.at(-1)!;
    await assert.rejects(agentSide.openChannel('session'), /accepts no channels opened by the VM/);
  });
});
