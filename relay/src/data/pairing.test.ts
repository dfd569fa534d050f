import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import { CloseCode, TokenIssuer, generateRelaySigningKey, sshFingerprintFromPem } from '@airlock/shared';
import type { SessionCloseStats } from './observer.js';
import {
  OTHER_VM,
  TEST_VM,
  UpgradeRefused,
  closed,
  openConnect,
  startHarness,
  startSession,
  waitFor,
  type Harness,
} from '../test-support/harness.js';

async function refusal(p: Promise<WebSocket>): Promise<UpgradeRefused> {
  const e = await p.then(
    (ws) => {
      ws.terminate();
      return undefined;
    },
    (err: unknown) => err,
  );
  assert.ok(e instanceof UpgradeRefused, `expected the upgrade to be refused, got ${String(e)}`);
  return e;
}

/** Collects every message a socket receives. */
function collect(ws: WebSocket): Buffer[] {
  const got: Buffer[] = [];
  ws.on('message', (d: Buffer) => got.push(d));
  return got;
}

describe('session pairing', () => {
  let h: Harness;
  const closedStats: SessionCloseStats[] = [];
  const observed = new Map<string, { up: Buffer[]; down: Buffer[] }>();
  before(async () => {
    // The default unpaired timeout: a loaded machine may take seconds between two joins.
    h = await startHarness(
      {},
      {
        observer: {
          onSessionClosed: (s) => closedStats.push(s),
          onFrame: (sid, direction, data) => {
            if (!observed.has(sid)) observed.set(sid, { up: [], down: [] });
            observed.get(sid)![direction].push(Buffer.from(data));
          },
        },
      },
    );
  });
  after(() => h.close());

  describe('Connect ticket checks', () => {
    test('missing, expired, tampered, other-VM and other-session tickets are refused with a message', async () => {
      const { agent, session } = await startSession(h);
      try {
        const sid = session.sessionId;
        const base = { sub: 'alice', ukey: sshFingerprintFromPem(h.alice.publicKeyPem), ports: [22] };

        const none = await refusal(openConnect(h.relay, sid, undefined));
        assert.equal(none.status, 401);
        assert.match(none.body, /missing session ticket/);

        const old = new TokenIssuer(h.relay.signingKey.privateKey, () => Date.now() - 600_000);
        const expired = await old.issueTicket({ ...base, sid, vm: TEST_VM });
        const e1 = await refusal(openConnect(h.relay, sid, expired.token));
        assert.equal(e1.status, 401);
        assert.match(e1.body, /ticket rejected: .*expired/);

        const [hdr, payload, sig] = session.ticket.split('.') as [string, string, string];
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
        const forgedPayload = Buffer.from(JSON.stringify({ ...claims, ports: [1, 22, 8888] })).toString('base64url');
        const e2 = await refusal(openConnect(h.relay, sid, `${hdr}.${forgedPayload}.${sig}`));
        assert.equal(e2.status, 401);
        assert.match(e2.body, /ticket rejected: .*signature/);

        const otherVm = await h.relay.issuer.issueTicket({ ...base, sid, vm: OTHER_VM });
        const e3 = await refusal(openConnect(h.relay, sid, otherVm.token));
        assert.match(e3.body, /ticket rejected: ticket is for VM "other-vm", not "demo-vm"/);

        const otherSession = await h.relay.issuer.issueTicket({ ...base, sid: randomUUID(), vm: TEST_VM });
        const e4 = await refusal(openConnect(h.relay, sid, otherSession.token));
        assert.match(e4.body, /ticket rejected: ticket is for another session/);

        const foreignKey = new TokenIssuer(generateRelaySigningKey().privateKey);
        const foreign = await foreignKey.issueTicket({ ...base, sid, vm: TEST_VM });
        assert.match((await refusal(openConnect(h.relay, sid, foreign.token))).body, /signature/);

        const unknown = await refusal(openConnect(h.relay, randomUUID(), session.ticket));
        assert.equal(unknown.status, 404);
        const malformedSid = await refusal(openConnect(h.relay, 'nope', session.ticket));
        assert.equal(malformedSid.status, 400);

        // None of this disturbed the real session.
        assert.equal(h.relay.sessionStats(sid)?.connectJoined, false);
      } finally {
        agent.close();
      }
    });

    test('an access token is not a ticket, even one for the same user', async () => {
      const { agent, session, token } = await startSession(h);
      try {
        const e = await refusal(openConnect(h.relay, session.sessionId, token));
        assert.equal(e.status, 401);
        assert.match(e.body, /^ticket rejected: .*("typ"|"aud")/);
        assert.equal(h.relay.sessionStats(session.sessionId)?.connectJoined, false);
      } finally {
        agent.close();
      }
    });

    test('a ticket for this session and VM but another user is refused', async () => {
      const { agent, session } = await startSession(h);
      try {
        const sid = session.sessionId;
        const forBob = await h.relay.issuer.issueTicket({
          sub: 'bob',
          sid,
          vm: TEST_VM,
          ukey: sshFingerprintFromPem(h.bob.publicKeyPem),
          ports: [22],
        });
        const e = await refusal(openConnect(h.relay, sid, forBob.token));
        assert.equal(e.status, 401);
        assert.equal(e.body, 'ticket rejected: ticket is for another user');
        assert.equal(h.relay.sessionStats(sid)?.connectJoined, false);
      } finally {
        agent.close();
      }
    });

    test('an agent data socket needs its credential and a session of its own VM', async () => {
      const { agent, session } = await startSession(h);
      try {
        const wrongVm = await refusal(agent.openSession(h.relay, h.otherCredential, session.sessionId));
        assert.equal(wrongVm.status, 404);
        const noCred = await refusal(agent.openSession(h.relay, 'demo-vm.' + 'A'.repeat(43), session.sessionId));
        assert.equal(noCred.status, 401);
        const ws = await agent.openSession(h.relay, h.credential, session.sessionId);
        const twice = await refusal(agent.openSession(h.relay, h.credential, session.sessionId));
        assert.equal(twice.status, 409);
        ws.terminate();
      } finally {
        agent.close();
      }
    });
  });

  async function roundTrip(order: 'agent-first' | 'connect-first') {
    const { agent, session } = await startSession(h);
    const sid = session.sessionId;
    let agentWs: WebSocket;
    let connectWs: WebSocket;
    if (order === 'agent-first') {
      agentWs = await agent.openSession(h.relay, h.credential, sid);
      connectWs = await openConnect(h.relay, sid, session.ticket);
    } else {
      connectWs = await openConnect(h.relay, sid, session.ticket);
      agentWs = await agent.openSession(h.relay, h.credential, sid);
    }
    await waitFor(() => h.relay.sessionStats(sid)?.state === 'paired', 'pairing');
    const atAgent = collect(agentWs);
    const atConnect = collect(connectWs);
    const up = Array.from({ length: 50 }, (_, i) => randomBytes(1 + i * 97));
    const down = Array.from({ length: 50 }, (_, i) => randomBytes(1 + i * 131));
    for (let i = 0; i < 50; i++) {
      connectWs.send(up[i]!);
      agentWs.send(down[i]!);
    }
    await waitFor(() => atAgent.length === 50 && atConnect.length === 50, 'all frames');
    assert.deepEqual(atAgent, up);
    assert.deepEqual(atConnect, down);
    const upBytes = up.reduce((n, b) => n + b.length, 0);
    const downBytes = down.reduce((n, b) => n + b.length, 0);
    assert.equal(h.relay.sessionStats(sid)?.bytesUp, upBytes);
    assert.equal(h.relay.sessionStats(sid)?.bytesDown, downBytes);
    assert.deepEqual(observed.get(sid), { up, down }, 'the observer sees every frame with its direction');
    return { agent, agentWs, connectWs, sid, upBytes, downBytes };
  }

  for (const order of ['agent-first', 'connect-first'] as const) {
    test(`pairs ${order} and copies frames both ways unchanged and in order`, async () => {
      const { agent, agentWs, connectWs } = await roundTrip(order);
      agentWs.terminate();
      connectWs.terminate();
      agent.close();
    });
  }

  /**
   * Sends `frames` and returns once the kernel has them and the relay still holds the session
   * unpaired with only this side joined: the frames really were sent before the peer joined.
   */
  async function sentBeforePeerJoins(
    ws: WebSocket,
    sid: string,
    side: 'connectJoined' | 'agentJoined',
    frames: Buffer[],
  ): Promise<void> {
    await Promise.all(frames.map((f) => new Promise<void>((res, rej) => ws.send(f, (e) => (e ? rej(e) : res())))));
    const stats = h.relay.sessionStats(sid);
    assert.equal(stats?.state, 'pending', 'the session is not paired yet');
    assert.equal(stats?.[side], true, 'the first side has joined');
    assert.equal(stats?.[side === 'agentJoined' ? 'connectJoined' : 'agentJoined'], false, 'the peer has not');
  }

  for (const first of ['connect', 'agent'] as const) {
    test(`frames the ${first} sends before its peer joins are delivered, in order, once paired`, async () => {
      // SSH speaks first (version line, KEXINIT): losing those frames hangs the handshake.
      const { agent, session } = await startSession(h);
      const sid = session.sessionId;
      const early = Array.from({ length: 5 }, (_, i) => randomBytes(100 + i));
      let firstWs: WebSocket;
      let secondWs: WebSocket;
      let got: Buffer[] = [];
      const listen = (ws: WebSocket) => void (got = collect(ws));
      if (first === 'connect') {
        firstWs = await openConnect(h.relay, sid, session.ticket);
        await sentBeforePeerJoins(firstWs, sid, 'connectJoined', early);
        secondWs = await agent.openSession(h.relay, h.credential, sid, listen);
      } else {
        firstWs = await agent.openSession(h.relay, h.credential, sid);
        await sentBeforePeerJoins(firstWs, sid, 'agentJoined', early);
        secondWs = await openConnect(h.relay, sid, session.ticket, listen);
      }
      await waitFor(() => got.length === early.length, 'early frames');
      assert.deepEqual(got, early);
      firstWs.terminate();
      secondWs.terminate();
      agent.close();
    });
  }

  test('Connect closing closes the agent side with a reason, and the session is reported once', async () => {
    const { agent, agentWs, connectWs, sid, upBytes, downBytes } = await roundTrip('agent-first');
    const agentClosed = closed(agentWs);
    connectWs.close(1000, 'user quit');
    assert.deepEqual(await agentClosed, {
      code: CloseCode.peerClosed,
      reason: 'Connect closed the session: user quit',
    });
    await waitFor(() => closedStats.some((s) => s.sid === sid), 'close stats');
    const stats = closedStats.filter((s) => s.sid === sid);
    assert.equal(stats.length, 1);
    assert.equal(stats[0]!.bytesUp, upBytes);
    assert.equal(stats[0]!.bytesDown, downBytes);
    assert.equal(stats[0]!.paired, true);
    assert.equal(stats[0]!.user, 'alice');
    assert.match(stats[0]!.reason, /Connect closed the session/);
    assert.equal(h.relay.sessionStats(sid), undefined);
    agent.close();
  });

  test('the agent closing closes the Connect side with a reason', async () => {
    const { agent, agentWs, connectWs } = await roundTrip('connect-first');
    const connectClosed = closed(connectWs);
    agentWs.close();
    assert.deepEqual(await connectClosed, { code: CloseCode.peerClosed, reason: 'agent closed the session' });
    agent.close();
  });

  test('a paired session cannot be joined again with the same ticket', async () => {
    const { agent, agentWs, connectWs, sid } = await roundTrip('agent-first');
    const replay = await h.relay.issuer.issueTicket({ sub: 'alice', sid, vm: TEST_VM, ukey: 'SHA256:x', ports: [] });
    const again = await refusal(openConnect(h.relay, sid, replay.token));
    assert.equal(again.status, 409);
    assert.match(again.body, /already has a Connect side/);
    agentWs.terminate();
    connectWs.terminate();
    agent.close();
  });
});

describe('unpaired sessions', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ unpairedTimeoutMs: 300 });
  });
  after(() => h.close());

  for (const side of ['agent', 'connect'] as const) {
    test(`an unpaired ${side} socket times out with a reason`, async () => {
      const { agent, session } = await startSession(h);
      const ws =
        side === 'agent'
          ? await agent.openSession(h.relay, h.credential, session.sessionId)
          : await openConnect(h.relay, session.sessionId, session.ticket);
      const c = await closed(ws, 3000);
      assert.equal(c.code, CloseCode.unpairedTimeout);
      assert.match(c.reason, side === 'agent' ? /Connect did not join/ : /agent did not join/);
      assert.equal(h.relay.sessionStats(session.sessionId), undefined);
      agent.close();
    });
  }
});

test('relay.close() drops live sessions at once (they resume on the next relay) and closes agent links with shuttingDown', async () => {
  const h = await startHarness();
  const { agent, session } = await startSession(h);
  const agentWs = await agent.openSession(h.relay, h.credential, session.sessionId);
  const connectWs = await openConnect(h.relay, session.sessionId, session.ticket);
  await waitFor(() => h.relay.sessionStats(session.sessionId)?.state === 'paired', 'pairing');
  const sessionSides = [closed(agentWs), closed(connectWs)];
  const link = closed(agent.ws);
  await h.close();
  for (const c of await Promise.all(sessionSides)) assert.equal(c.code, 1006);
  assert.equal((await link).code, CloseCode.shuttingDown);
});

test('a paired Connect socket that stops answering pings is dropped and the agent side is told it was lost (resumable)', async (t) => {
  const h = await startHarness({ pingIntervalMs: 100 });
  t.after(() => h.close());
  const { agent, session } = await startSession(h);
  t.after(() => agent.close());
  const agentWs = await agent.openSession(h.relay, h.credential, session.sessionId);
  const connectWs = await openConnect(h.relay, session.sessionId, session.ticket);
  t.after(() => connectWs.terminate());
  await waitFor(() => h.relay.sessionStats(session.sessionId)?.state === 'paired', 'pairing');
  const agentClosed = closed(agentWs, 5000);
  (connectWs as unknown as { _socket: { pause(): void } })._socket.pause();
  const c = await agentClosed;
  // Dropped at once, as a network drops a connection (1006): the agent keeps the session for a resume.
  assert.equal(c.code, 1006);
});
