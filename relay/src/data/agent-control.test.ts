import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CloseCode, WS_PATHS } from '@airlock/shared';
import {
  FakeAgent,
  TEST_VM,
  UpgradeRefused,
  api,
  closed,
  login,
  newHostKey,
  openConnect,
  openWs,
  OTHER_VM,
  startHarness,
  startSession,
  waitFor,
  type Harness,
} from '../test-support/harness.js';

describe('agent reports: a flood from one VM’s credential', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ agentReportsPerMinute: 20 });
  });
  after(() => h.close());

  test('one channel-refused per millisecond grows the audit log by the budget and one summary', async () => {
    const { agent, session } = await startSession(h);
    const seqBefore = (await h.relay.store.audit.last())!.seq;
    const started = Date.now();
    const sent = 1500;
    const message = JSON.stringify({
      type: 'channel-refused',
      sessionId: session.sessionId,
      channel: 'direct-tcpip',
      reason: 'x'.repeat(200),
    });
    for (let i = 0; i < sent; i++) {
      agent.ws.send(message);
      await new Promise((r) => setTimeout(r, 1));
    }
    const agentClosed = closed(agent.ws);
    agent.ws.close();
    await agentClosed;
    const elapsedMinutes = (Date.now() - started) / 60_000;
    await waitFor(
      async () => (await h.relay.store.audit.query({ type: 'agent.reports_dropped', afterSeq: seqBefore })).length > 0,
      'the summary of dropped reports',
    );
    const added = await h.relay.store.audit.query({ afterSeq: seqBefore, limit: 10_000 });
    const recorded = added.filter((e) => e.type === 'session.channel_refused');
    // The burst (20) plus what the bucket refilled meanwhile (20 per minute).
    assert.ok(recorded.length >= 20 && recorded.length <= 20 + Math.ceil(20 * elapsedMinutes), `${recorded.length}`);
    assert.ok(recorded.every((e) => e.data.agentClaim === true));
    const summaries = added.filter((e) => e.type === 'agent.reports_dropped');
    assert.equal(summaries.length, 1, 'one summary entry');
    assert.equal(summaries[0]!.data.overBudget, sent - recorded.length, 'every dropped report is counted');
    // Everything else the flood caused: the session's close and the agent's disconnect.
    assert.ok(added.length <= recorded.length + 4, added.map((e) => e.type).join(', '));
  });
});

describe('agent control socket', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ agentRegisterTimeoutMs: 300 });
  });
  after(() => h.close());

  const controlUrl = () => h.relay.wsUrl + WS_PATHS.agentControl;

  test('a wrong or missing credential is refused at the upgrade with 401 and a reason', async () => {
    const wrongSecret = h.credential.replace(/\.(.)/, (_m, c: string) => '.' + (c === 'A' ? 'B' : 'A'));
    for (const [headers, pattern] of [
      [{ authorization: `Bearer ${wrongSecret}` }, /agent credential rejected/],
      [{ authorization: `Bearer no-such-vm.${'A'.repeat(43)}` }, /agent credential rejected/],
      [{ authorization: 'Bearer garbage' }, /agent credential rejected/],
      [{}, /missing agent credential/],
    ] as const) {
      const e = await openWs(controlUrl(), headers).then(
        (ws) => {
          ws.terminate();
          return undefined;
        },
        (err: unknown) => err,
      );
      assert.ok(e instanceof UpgradeRefused, `expected a refusal, got ${String(e)}`);
      assert.equal(e.status, 401);
      assert.match(e.body, pattern);
      assert.match(e.headerReason ?? '', pattern);
    }
    // The credential of another VM authenticates as that VM, never as this one.
    assert.equal(h.relay.isAgentOnline(TEST_VM), false);
  });

  test('the right credential registers and the host key is recorded', async () => {
    const agent = await FakeAgent.connect(h.relay, h.credential, h.hostKey);
    try {
      assert.equal(h.relay.isAgentOnline(TEST_VM), true);
      assert.equal(h.relay.agent(TEST_VM)?.hostKey, h.hostKey);
    } finally {
      agent.close();
    }
    await waitFor(() => !h.relay.isAgentOnline(TEST_VM), 'agent to go offline');
  });

  test('no register message within the timeout closes with protocolError', async () => {
    const ws = await openWs(controlUrl(), { authorization: `Bearer ${h.credential}` });
    const c = await closed(ws);
    assert.equal(c.code, CloseCode.protocolError);
    assert.match(c.reason, /no register message/);
  });

  test('a malformed first message closes with protocolError naming the field', async () => {
    const ws = await openWs(controlUrl(), { authorization: `Bearer ${h.credential}` });
    const done = closed(ws);
    ws.send(JSON.stringify({ type: 'register', hostKey: '!!', version: 'x' }));
    const c = await done;
    assert.equal(c.code, CloseCode.protocolError);
    assert.match(c.reason, /hostKey/);

    const ws2 = await openWs(controlUrl(), { authorization: `Bearer ${h.credential}` });
    const done2 = closed(ws2);
    ws2.send('not json');
    assert.match((await done2).reason, /not valid JSON/);

    const ws3 = await openWs(controlUrl(), { authorization: `Bearer ${h.credential}` });
    const done3 = closed(ws3);
    ws3.send(JSON.stringify({ type: 'dial-refused', sessionId: crypto.randomUUID(), reason: 'x' }));
    assert.match((await done3).reason, /first control message must be register/);
  });

  test('a newer control socket replaces the older one', async () => {
    const first = await FakeAgent.connect(h.relay, h.credential, h.hostKey);
    const firstClosed = closed(first.ws);
    const newKey = newHostKey();
    const second = await FakeAgent.connect(h.relay, h.credential, newKey);
    try {
      const c = await firstClosed;
      assert.equal(c.code, CloseCode.replaced);
      assert.equal(h.relay.isAgentOnline(TEST_VM), true);
      assert.equal(h.relay.agent(TEST_VM)?.hostKey, newKey);
    } finally {
      second.close();
    }
    await waitFor(() => !h.relay.isAgentOnline(TEST_VM), 'agent to go offline');
  });

  test('dial-refused closes the waiting Connect side with agentRefused and the reason, and is audited as the agent’s claim', async () => {
    const agent = await FakeAgent.connect(h.relay, h.credential, h.hostKey);
    try {
      const token = await login(h.relay, h.alice);
      // Connect first, then the refusal.
      const s1 = (await api(h.relay, 'POST', '/sessions', { token, body: { vm: TEST_VM } })).body;
      const connect = await openConnect(h.relay, s1.sessionId, s1.ticket);
      const c1 = closed(connect);
      agent.ws.send(
        JSON.stringify({ type: 'dial-refused', sessionId: s1.sessionId, reason: 'ticket names an unknown key' }),
      );
      assert.deepEqual(await c1, { code: CloseCode.agentRefused, reason: 'ticket names an unknown key' });
      // Refusal first, then Connect arrives.
      const s2 = (await api(h.relay, 'POST', '/sessions', { token, body: { vm: TEST_VM } })).body;
      await waitFor(() => agent.dials.length === 2, 'second dial');
      agent.ws.send(JSON.stringify({ type: 'dial-refused', sessionId: s2.sessionId, reason: 'too many sessions' }));
      await waitFor(() => h.relay.sessionStats(s2.sessionId)?.state === 'refused', 'refusal recorded');
      const late = await openConnect(h.relay, s2.sessionId, s2.ticket);
      assert.deepEqual(await closed(late), { code: CloseCode.agentRefused, reason: 'too many sessions' });
      assert.equal(h.relay.sessionStats(s2.sessionId), undefined);
      const refused = await h.relay.store.audit.query({ type: 'session.agent_refused', sid: s2.sessionId });
      assert.deepEqual(
        refused.map((e) => [e.actor, e.outcome, e.data]),
        [[`agent:${TEST_VM}`, 'failure', { agentClaim: true, reason: 'too many sessions' }]],
      );
    } finally {
      agent.close();
    }
    await waitFor(() => !h.relay.isAgentOnline(TEST_VM), 'agent to go offline');
  });

  test('the agent going offline closes a Connect side still waiting for it', async () => {
    const agent = await FakeAgent.connect(h.relay, h.credential, h.hostKey);
    const token = await login(h.relay, h.alice);
    const s = (await api(h.relay, 'POST', '/sessions', { token, body: { vm: TEST_VM } })).body;
    const connect = await openConnect(h.relay, s.sessionId, s.ticket);
    const c = closed(connect);
    agent.close();
    const r = await c;
    assert.equal(r.code, CloseCode.agentOffline);
    assert.match(r.reason, /went offline/);
  });

  test('reports about sessions of another VM, or of no session, write nothing and are counted', async () => {
    const { agent, session } = await startSession(h);
    const other = await FakeAgent.connect(h.relay, h.otherCredential, newHostKey());
    try {
      const seqBefore = (await h.relay.store.audit.last())!.seq;
      const sid = session.sessionId;
      for (const msg of [
        { type: 'dial-refused', sessionId: sid, reason: 'forged by another VM' },
        { type: 'channel-refused', sessionId: sid, channel: 'direct-tcpip', reason: 'forged by another VM' },
        { type: 'channel-refused', sessionId: crypto.randomUUID(), channel: 'session', reason: 'no such session' },
        { type: 'dial-refused', sessionId: crypto.randomUUID(), reason: 'no such session' },
      ])
        other.ws.send(JSON.stringify(msg));
      const otherClosed = closed(other.ws);
      other.ws.close();
      await otherClosed;
      await waitFor(
        async () =>
          (await h.relay.store.audit.query({ type: 'agent.reports_dropped', afterSeq: seqBefore })).length > 0,
        'the summary of dropped reports',
      );
      const added = await h.relay.store.audit.query({ afterSeq: seqBefore, limit: 100 });
      assert.deepEqual(
        added.filter((e) => e.type.startsWith('session.')).map((e) => e.type),
        [],
        'nothing recorded about demo-vm’s session, or about unknown ones',
      );
      const summary = added.find((e) => e.type === 'agent.reports_dropped')!;
      assert.equal(summary.actor, 'relay', 'the relay’s own finding');
      assert.deepEqual(summary.data, { vm: OTHER_VM, overBudget: 0, notItsSession: 4, when: 'control link closed' });
      assert.equal(h.relay.sessionStats(sid)?.state, 'pending', 'the forged dial-refused did not refuse the session');
    } finally {
      agent.close();
      other.close();
    }
    await waitFor(() => !h.relay.isAgentOnline(TEST_VM), 'agent to go offline');
  });

  test('what the agent reports is recorded as its claim, with control characters removed', async () => {
    const { agent, session } = await startSession(h);
    try {
      agent.ws.send(
        JSON.stringify({
          type: 'channel-refused',
          sessionId: session.sessionId,
          channel: 'direct-tcpip',
          target: '127.0.0.1:5432',
          reason: 'port not allowed\u001b[2J\u202e',
        }),
      );
      await waitFor(
        async () =>
          (await h.relay.store.audit.query({ type: 'session.channel_refused', sid: session.sessionId })).length > 0,
        'the channel refusal',
      );
      const [entry] = await h.relay.store.audit.query({ type: 'session.channel_refused', sid: session.sessionId });
      assert.equal(entry!.actor, `agent:${TEST_VM}`);
      assert.deepEqual(entry!.data, {
        agentClaim: true,
        channel: 'direct-tcpip',
        target: '127.0.0.1:5432',
        reason: 'port not allowed?[2J?',
      });
    } finally {
      agent.close();
    }
    await waitFor(() => !h.relay.isAgentOnline(TEST_VM), 'agent to go offline');
  });

  test('an agent that stops answering pings is terminated', async () => {
    const h2 = await startHarness({ pingIntervalMs: 100 });
    try {
      const agent = await FakeAgent.connect(h2.relay, h2.credential, h2.hostKey);
      // Stop reading: pings are never answered.
      (agent.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      await waitFor(() => !h2.relay.isAgentOnline(TEST_VM), 'dead agent to be dropped', 3000);
      agent.close();
    } finally {
      await h2.close();
    }
  });
});
