import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SessionResponse } from '@airlock/shared';
import { createRelayLogger } from '../logger.js';
import {
  FakeAgent,
  TEST_VM,
  api,
  closed,
  login,
  openConnect,
  startHarness,
  waitFor,
  type Harness,
} from '../test-support/harness.js';

interface LogLine {
  msg: string;
  user?: string;
  reason?: string;
}

describe('pending-session limits', () => {
  let h: Harness;
  let agent: FakeAgent;
  const logs: LogLine[] = [];
  before(async () => {
    const sink = { write: (s: string) => void logs.push(JSON.parse(s) as LogLine) } as unknown as NodeJS.WritableStream;
    h = await startHarness(
      { maxPendingSessionsPerUser: 2, maxPendingSessions: 3, unpairedTimeoutMs: 300 },
      { logger: createRelayLogger('info', sink) },
    );
    await h.relay.store.grants.put({ user: 'bob', vm: TEST_VM });
    agent = await FakeAgent.connect(h.relay, h.credential, h.hostKey);
  });
  after(async () => {
    agent.close();
    await h.close();
  });

  const newSession = (token: string) =>
    api<SessionResponse>(h.relay, 'POST', '/sessions', { token, body: { vm: TEST_VM } });
  const refusedAs = (res: { status: number; body: unknown }, what: RegExp) => {
    assert.equal(res.status, 429);
    const body = res.body as { error: { code: string; message: string } };
    assert.deepEqual(Object.keys(body), ['error']);
    assert.equal(body.error.code, 'too_many_sessions');
    assert.match(body.error.message, what);
    assert.match(body.error.message, /wait .*or close sessions/);
  };

  test('a user with the maximum of unpaired sessions gets 429 until one pairs or ends', async () => {
    const token = await login(h.relay, h.alice);
    const s1 = await newSession(token);
    const s2 = await newSession(token);
    assert.equal(s1.status, 200);
    assert.equal(s2.status, 200);
    refusedAs(await newSession(token), /you already have 2 sessions waiting/);
    await waitFor(() => logs.some((l) => l.user === 'alice' && l.reason === 'user_limit'), 'refusal log');
    assert.equal(
      agent.dials.filter((d) => d.sessionId !== s1.body.sessionId && d.sessionId !== s2.body.sessionId).length,
      0,
    );

    // s1 pairs: it no longer counts.
    const agentWs = await agent.openSession(h.relay, h.credential, s1.body.sessionId);
    const connectWs = await openConnect(h.relay, s1.body.sessionId, s1.body.ticket);
    await waitFor(() => h.relay.sessionStats(s1.body.sessionId)?.state === 'paired', 'pairing');
    const s3 = await newSession(token);
    assert.equal(s3.status, 200);
    refusedAs(await newSession(token), /limit is 2/);

    // s2 expires (Connect joins, the agent never does): it no longer counts either.
    const lonely = await openConnect(h.relay, s2.body.sessionId, s2.body.ticket);
    await closed(lonely);
    assert.equal((await newSession(token)).status, 200);

    agentWs.terminate();
    connectWs.terminate();
  });

  test('the relay-wide limit applies across users', async () => {
    // alice holds 2 unpaired sessions from the test above; the relay allows 3 in all.
    const bob = await login(h.relay, h.bob);
    assert.equal((await newSession(bob)).status, 200);
    refusedAs(await newSession(bob), /the relay already has 3 sessions waiting/);
    await waitFor(() => logs.some((l) => l.user === 'bob' && l.reason === 'relay_limit'), 'refusal log');
  });
});
