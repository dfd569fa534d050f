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
  startHarness,
  waitFor,
  type Harness,
} from '../test-support/harness.js';

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

  test('dial-refused closes the waiting Connect side with agentRefused and the reason', async () => {
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
