import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { certThumbprint, CloseCode, mintServerCertificate, spkiPin } from '@airlock/shared';
import {
  fakeCredentials,
  fakeRelayCertificate,
  startFakeRelay,
  type FakeRelay,
  type FakeRelayOptions,
} from '../test-support/fake-relay.js';
import { userKeyFromPrivateKey, type UserKey } from '../identity/user-key-store.js';
import { dataSocketUrl } from './data-socket.js';
import { sessionUserKey } from '../login/login.js';
import { SESSION_STEPS, type VmSession } from './types.js';
import { openVmSession } from './vm-session.js';

const TIMEOUT = { timeout: 20_000 };

function newUserKey(): UserKey {
  return userKeyFromPrivateKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
}

async function readAll(r: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString();
}

async function openAt(relay: FakeRelay, timeoutMs: number) {
  return openVmSession({ credentials: await fakeCredentials(relay), vm: 'demo-vm', timeoutMs });
}

async function withSession<T>(
  options: FakeRelayOptions,
  body: (session: VmSession, relay: FakeRelay) => Promise<T>,
): Promise<T> {
  const relay = await startFakeRelay(options);
  try {
    const opened = await openAt(relay, 10_000);
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

test("the data socket goes out on the TLS connection the session's ticket came over", TIMEOUT, async () => {
  // Over a network that is two round trips (TCP and TLS) fewer before the VM's first byte.
  await withSession({}, async (session, relay) => {
    assert.equal(relay.seen.http.filter((h) => h.path.endsWith('/sessions')).length, 1);
    assert.equal(relay.seen.urls.length, 1);
    assert.equal(relay.seen.connections, 1);
    assert.equal(session.sessionId, relay.lastSession!.sessionId);
  });
});

test('each step of the setup is told as it is reached, in order', TIMEOUT, async () => {
  const relay = await startFakeRelay({});
  try {
    const steps: string[] = [];
    const opened = await openVmSession({
      credentials: await fakeCredentials(relay),
      vm: 'demo-vm',
      timeoutMs: 10_000,
      onStep: (step) => steps.push(step),
    });
    assert.ok(opened.ok);
    await opened.value.close();
    assert.deepEqual(steps, [...SESSION_STEPS]);
  } finally {
    await relay.close();
  }
});

test('data socket URL carries only the session id; the ticket goes in the Authorization header', TIMEOUT, async () => {
  assert.equal(dataSocketUrl('https://relay.example.org', 'abc'), 'wss://relay.example.org/ws/connect?sid=abc');
  assert.equal(dataSocketUrl('https://127.0.0.1:7443/', 'abc'), 'wss://127.0.0.1:7443/ws/connect?sid=abc');
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

test("a refused subsystem carries the agent's own explanation, printable and on one line", TIMEOUT, async () => {
  await withSession({}, async (session) => {
    const r = await session.openSubsystem('netconf');
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'request_refused');
    assert.equal(r.error.message, 'the agent refused the netconf subsystem: no netconf here [2J(looked everywhere)');
    assert.ok(r.error.code === 'request_refused' && r.error.agentSays === 'no netconf here [2J(looked everywhere)');
  });
});

test('host key pinning: a host key other than the registered one is refused', TIMEOUT, async () => {
  const relay = await startFakeRelay({ registerWrongHostKey: true });
  try {
    const opened = await openAt(relay, 10_000);
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
    const opened = await openAt(relay, 10_000);
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
      const opened = await openAt(relay, 10_000);
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
    const opened = await openAt(relay, 300);
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

test(
  'the session presents the login certificate on /sessions and the data socket, and authenticates with its ECDSA key',
  TIMEOUT,
  async () => {
    const relay = await startFakeRelay();
    try {
      const credentials = await fakeCredentials(relay);
      const opened = await openVmSession({ credentials, vm: 'demo-vm', timeoutMs: 10_000 });
      assert.ok(opened.ok, !opened.ok ? opened.error.message : '');
      const expected = certThumbprint(credentials.endpoint.clientCert.certPem);
      assert.deepEqual(
        relay.seen.http.map((r) => [r.path, r.thumbprint]),
        [['/api/v1/sessions', expected]],
      );
      assert.deepEqual(relay.seen.wsThumbprints, [expected]);
      // The agent accepted the certificate's P-256 key: the one the relay names in the ticket (`ukey`).
      const key = sessionUserKey(credentials);
      assert.equal(key.privateKey.asymmetricKeyType, 'ec');
      await opened.value.close();
    } finally {
      await relay.close();
    }
  },
);

test('a token presented with another certificate is refused (certificate_mismatch)', TIMEOUT, async () => {
  const relay = await startFakeRelay();
  try {
    const mine = await fakeCredentials(relay);
    const other = await fakeCredentials(relay);
    const stolen = { ...mine, token: other.token };
    const opened = await openVmSession({ credentials: stolen, vm: 'demo-vm', timeoutMs: 10_000 });
    assert.ok(!opened.ok);
    assert.equal(opened.error.code, 'certificate_mismatch');
  } finally {
    await relay.close();
  }
});

test('a relay whose key is not the pinned one gets no request: relay_pin_mismatch', TIMEOUT, async () => {
  const impostorCert = await mintServerCertificate({ commonName: 'impostor', ipAddresses: ['127.0.0.1'] });
  const impostor = await startFakeRelay({ certificate: impostorCert });
  try {
    // Enrolled with the real relay's pin; the impostor answers at the same address.
    const credentials = await fakeCredentials(impostor);
    credentials.endpoint.pin = spkiPin((await fakeRelayCertificate()).certPem);
    const opened = await openVmSession({ credentials, vm: 'demo-vm', timeoutMs: 10_000 });
    assert.ok(!opened.ok);
    assert.equal(opened.error.code, 'relay_pin_mismatch');
    assert.match(opened.error.message, /does not match the pin from your enrollment code/);
    assert.equal(impostor.seen.http.length, 0);
    assert.ok(impostor.seen.connections >= 1);
  } finally {
    await impostor.close();
  }
});

test('a revocation close (4009) is a typed revoked error with the reason', TIMEOUT, async () => {
  await withSession({}, async (session, relay) => {
    const closed = new Promise<{ error?: { code: string; message: string } }>((r) => session.onClosed(r));
    relay.dropSessions(CloseCode.revoked, 'device revoked by admin');
    const e = await closed;
    assert.equal(e.error?.code, 'revoked');
    assert.match(e.error!.message, /device revoked by admin/);
  });
});
