import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { SshServerSession } from '@microsoft/dev-tunnels-ssh';
import { WebSocket } from 'ws';
import {
  SessionResponse,
  WS_PATHS,
  RelayToAgent,
  createPinnedHttpsAgent,
  mintClientCertificate,
} from '@airlock/shared';
import {
  createServerSession,
  generateHostKey,
  publicKeyBlob,
  startSshSession,
  webSocketSshStream,
} from '@airlock/shared/ssh';
import { connectVmSession, userKeyFromPrivateKey } from '@airlock/connect';
import { streamEnd } from '@airlock/shared/testing';
import { readText, startSystem, waitFor, type ClientCert, type System } from './harness.js';

let sys: System;
before(async () => {
  sys = await startSystem({ ports: [40001, 40002], agentPorts: [40001] });
});
after(async () => {
  await sys?.close();
});

async function newSession(): Promise<SessionResponse> {
  const res = await sys.api('POST', '/sessions', { vm: sys.vm });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return SessionResponse.parse(res.body);
}

/** Opens Connect's data socket with a ticket; resolves with the HTTP refusal, if any. */
async function connectWithTicket(
  sid: string,
  ticket: string,
  cert?: ClientCert | null,
): Promise<{ status: number; body: string } | 'open'> {
  const ws = sys.connectWs(sid, ticket, cert);
  return new Promise((resolve, reject) => {
    ws.on('open', () => {
      ws.terminate();
      resolve('open');
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('error', (e) => {
      if (!/Unexpected server response/.test(e.message)) reject(e);
    });
  });
}

async function claimsOf(ticket: string) {
  return JSON.parse(Buffer.from(ticket.split('.')[1]!, 'base64url').toString()) as {
    sub: string;
    sid: string;
    vm: string;
    ukey: string;
    ports: number[];
  };
}

test('relay refuses an expired ticket', async () => {
  const s = await newSession();
  const c = await claimsOf(s.ticket);
  const { token } = await sys.relay.issuer.issueTicket(
    { sub: c.sub, sid: c.sid, vm: c.vm, ukey: c.ukey, ports: c.ports },
    -120,
  );
  const r = await connectWithTicket(s.sessionId, token);
  assert.notEqual(r, 'open');
  if (r === 'open') return;
  assert.equal(r.status, 401);
  assert.match(r.body, /expired/i);
});

test('relay refuses a tampered ticket', async () => {
  const s = await newSession();
  const [h, p, sig] = s.ticket.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as { ports: number[] };
  claims.ports = [1, 22, 5432];
  const tampered = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`;
  const r = await connectWithTicket(s.sessionId, tampered);
  assert.notEqual(r, 'open');
  if (r === 'open') return;
  assert.equal(r.status, 401);
  assert.match(r.body, /signature/i);
});

test('relay refuses a ticket for another VM', async () => {
  const s = await newSession();
  const c = await claimsOf(s.ticket);
  const { token } = await sys.relay.issuer.issueTicket({ ...c, vm: 'other-vm' });
  const r = await connectWithTicket(s.sessionId, token);
  assert.notEqual(r, 'open');
  if (r === 'open') return;
  assert.equal(r.status, 401);
  assert.match(r.body, /other-vm/);
});

test("a genuine ticket presented without the session's client certificate is refused", async () => {
  const s = await newSession();
  const none = await connectWithTicket(s.sessionId, s.ticket, null);
  assert.notEqual(none, 'open');
  if (none === 'open') return;
  assert.equal(none.status, 401);
  assert.match(none.body, /client certificate/);
  const other = await mintClientCertificate({ commonName: 'thief', ttlSeconds: 600 });
  const r = await connectWithTicket(s.sessionId, s.ticket, other);
  assert.notEqual(r, 'open');
});

test('the genuine ticket is accepted (the checks above are not refusing everything)', async () => {
  const s = await newSession();
  assert.equal(await connectWithTicket(s.sessionId, s.ticket), 'open');
});

test('forward to a port the ticket does not allow: clear error, non-zero exit, and an audit entry', async () => {
  const r = await sys.cli(['forward', sys.vm, '5999']);
  assert.equal(r.code, 255);
  assert.match(r.stderr, /5999/);
  assert.match(r.stderr, /not allowed/i);
  // Connect asks the agent all the same, so the refusal reaches the relay's audit log with the
  // session (the relay records what the agent reports for a session of that VM).
  const sid = /\[session ([0-9a-f-]{36})\]/.exec(r.stderr)?.[1];
  assert.ok(sid, r.stderr);
  await waitFor(
    async () =>
      (await sys.relay.store.audit.query({ sid })).some(
        (e) => /channel_refused/.test(e.type) && JSON.stringify(e.data).includes('127.0.0.1:5999'),
      ),
    10_000,
    () => 'no channel refusal for port 5999 in the audit log',
  );
});

test("forward to a port the agent's policy does not allow: the agent refuses the channel", async () => {
  const fwd = sys.spawnCli(['forward', sys.vm, '40002', '--json']);
  let out = '';
  let err = '';
  fwd.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  fwd.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  try {
    await waitFor(
      () => out.includes('\n') || fwd.exitCode !== null,
      20_000,
      () => `no forward: ${err}`,
    );
    const { localPort } = JSON.parse(out.split('\n')[0]!) as { localPort: number };
    const { connect } = await import('node:net');
    const sock = connect({ host: '127.0.0.1', port: localPort, allowHalfOpen: true });
    let got = 0;
    sock.on('data', (d: Buffer) => (got += d.length));
    // Reset, not ended as if the service had answered with nothing.
    assert.equal(await streamEnd(sock), 'ECONNRESET');
    assert.equal(got, 0);
    await waitFor(
      () => /not allowed/i.test(err),
      10_000,
      () => `no refusal message: ${err}`,
    );
    assert.match(err, /40002/);
  } finally {
    fwd.kill('SIGTERM');
    if (fwd.exitCode === null) await once(fwd, 'exit');
  }
});

test('user key other than the one in the ticket: the agent refuses authentication', async () => {
  // A genuine session (ticket, certificate) but SSH authentication with another key than the
  // login's certificate key, which is the one the ticket names.
  const s = await newSession();
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const r = await connectVmSession({
    endpoint: { url: sys.relay.url, pin: sys.relay.tls.pin, clientCert: sys.userSession().cert },
    session: s,
    user: sys.user,
    userKey: userKeyFromPrivateKey(privateKey),
  });
  assert.equal(r.ok, false, 'the agent must not accept the session');
  if (r.ok) return;
  assert.match(r.error.message, /key/i);
  assert.match(r.error.message, /refused|rejected|not accepted|denied/i);
  const ok = await sys.cli(['exec', sys.vm, '--', 'true']);
  assert.equal(ok.code, 0, ok.stderr);
});

test('an agent presenting the wrong credential is refused and says so', async () => {
  const bad = await sys.startAgent({
    credentialFile: undefined,
    credential: `${sys.vm}.${'A'.repeat(43)}`,
  });
  try {
    await waitFor(
      () => /relay refused the agent credential \(HTTP 401\)/.test(bad.output()),
      20_000,
      () => bad.output(),
    );
    assert.ok(sys.relay.isAgentOnline(sys.vm), 'the genuine agent stays online');
    const r = await sys.cli(['exec', sys.vm, '--', 'echo', 'still-here']);
    assert.equal(r.stdout, 'still-here\n', r.stderr);
  } finally {
    await bad.stop();
  }
});

test('Connect refuses a host key other than the one the relay registered', async () => {
  // A rogue agent with the VM's credential registers one host key and then serves sessions
  // with another: Connect must refuse instead of trusting the key it is shown.
  await sys.agent.stop();
  await waitFor(
    () => !sys.relay.isAgentOnline(sys.vm),
    10_000,
    () => 'agent still online',
  );
  const credential = readText(join(sys.dir, 'agent-state', 'credential')).trim();
  const agent = createPinnedHttpsAgent({ pin: sys.relay.tls.pin });
  const registered = await generateHostKey();
  const served = await generateHostKey();
  const control = new WebSocket(`${sys.relay.wsUrl}${WS_PATHS.agentControl}`, {
    headers: { authorization: `Bearer ${credential}` },
    agent,
  });
  const sessions: SshServerSession[] = [];
  const sockets: WebSocket[] = [control];
  control.on('message', (raw: Buffer) => {
    const msg = RelayToAgent.parse(JSON.parse(raw.toString()));
    if (msg.type !== 'dial') return;
    const data = new WebSocket(`${sys.relay.wsUrl}${WS_PATHS.agentSession}?sid=${msg.sessionId}`, {
      headers: { authorization: `Bearer ${credential}` },
      agent,
    });
    sockets.push(data);
    const server = createServerSession();
    server.credentials = { publicKeys: [served] };
    sessions.push(server);
    void startSshSession(server, webSocketSshStream(data));
  });
  await once(control, 'open');
  control.send(
    JSON.stringify({
      type: 'register',
      hostKey: (await publicKeyBlob(registered)).toString('base64'),
      version: 'rogue',
    }),
  );
  try {
    await waitFor(
      () => sys.relay.isAgentOnline(sys.vm),
      10_000,
      () => 'rogue agent not registered',
    );
    const r = await sys.cli(['exec', sys.vm, '--', 'true']);
    assert.equal(r.code, 255);
    assert.match(r.stderr, /host key/i);
    assert.equal(sessions.length, 1, 'the rogue agent was dialled');
  } finally {
    for (const s of sessions) s.dispose();
    for (const w of sockets) w.terminate();
  }
});
