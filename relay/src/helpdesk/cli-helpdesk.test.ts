import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ExplainReport, SessionDetail } from '@airlock/shared';
import type { WebSocket } from 'ws';
import type { CliIo } from '../admin/cli-context.js';
import { main } from '../cli.js';
import {
  FakeAgent,
  adminToken,
  TEST_VM,
  api,
  closed,
  openConnect,
  startHarness,
  startSession,
  waitFor,
} from '../test-support/harness.js';

interface Run {
  code: number;
  out: string;
  err: string;
}

/** A relay serving a real data dir, and `airlock-relay` (in-process, output captured) on the same dir. */
async function relayWithCli(t: TestContext) {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-helpdesk-'));
  const h = await startHarness({ dataDir: dir });
  let open = true;
  t.after(async () => {
    if (open) await h.close();
    await rm(dir, { recursive: true, force: true });
  });
  const run = async (...args: string[]): Promise<Run> => {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { out: (l) => void out.push(l), err: (l) => void err.push(l), actor: 'cli:tester', env: {} };
    const code = await main(['--data-dir', dir, ...args], io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const stop = async () => {
    open = false;
    await h.close();
  };
  return { h, dir, run, stop };
}

test('airlock-relay explain: text and --json from another process than the relay; exit 1 and a summary when refused; relay_not_running once it stops', async (t) => {
  const { h, run, stop } = await relayWithCli(t);
  const agent = await FakeAgent.connect(h.relay, h.credential, h.hostKey);
  await waitFor(async () => (await h.relay.store.agentPresence.get(TEST_VM))?.online === true, 'presence');

  const ok = await run('explain', 'alice', TEST_VM, '--port', '8888');
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /^alice → demo-vm port 8888: ALLOWED/);
  assert.match(ok.out, /✓ relay +a relay is serving at https:\/\/127\.0\.0\.1:\d+/);
  assert.match(ok.out, /✓ agent +the agent is online since 20/);
  assert.match(ok.out, /recent refusals: none/);

  const refused = await run('explain', 'alice', TEST_VM, '--port', '3389', '--json');
  assert.equal(refused.code, 1);
  const report = ExplainReport.parse(JSON.parse(refused.out));
  assert.deepEqual(report.blockers, ['port_not_allowed_by_vm']);
  assert.equal(refused.err, 'error: "alice" may not reach "demo-vm" port 3389 now: port_not_allowed_by_vm');

  const text = await run('explain', 'bob', TEST_VM);
  assert.equal(text.code, 1);
  assert.match(text.out, /NOT ALLOWED \(no_grant\)/);
  assert.match(text.out, /✗ grant +"bob" has no grant on "demo-vm"\n +→ airlock-relay grant add bob demo-vm/);

  assert.equal((await run('explain', 'alice', TEST_VM, '--port', 'x')).code, 2, 'a bad port is a usage error');
  assert.equal((await run('explain', 'Alice!', TEST_VM)).code, 2);

  agent.close();
  await stop();
  const down = await run('explain', 'alice', TEST_VM, '--json');
  assert.equal(down.code, 1);
  const afterStop = ExplainReport.parse(JSON.parse(down.out));
  assert.deepEqual(afterStop.blockers, ['relay_not_running', 'agent_offline']);
  assert.match(afterStop.checks[0]!.message, /no relay is running on this data dir \(it last served https:/);
  assert.equal(afterStop.agent?.online, false);
});

test('session show: who, VM, ports, when, bytes each way (live through the API), how it ended and why, its audit entries', async (t) => {
  const { h, run } = await relayWithCli(t);
  const { agent, session } = await startSession(h);
  const sid = session.sessionId;
  const agentWs: WebSocket = await agent.openSession(h.relay, h.credential, sid);
  const connectWs = await openConnect(h.relay, sid, session.ticket);
  await waitFor(() => h.relay.sessionStats(sid)?.state === 'paired', 'paired');
  const got = new Promise<void>((resolve) => agentWs.once('message', () => resolve()));
  connectWs.send(Buffer.alloc(1000, 1));
  await got;
  const back = new Promise<void>((resolve) => connectWs.once('message', () => resolve()));
  agentWs.send(Buffer.alloc(300, 2));
  await back;

  // Live: the relay's own counts through the admin API.
  const token = await adminToken(h.relay, ['sessions.read']);
  const live = await api(h.relay, 'GET', `/admin/sessions/${sid}`, { token });
  assert.equal(live.status, 200);
  const liveDetail = SessionDetail.parse(live.body.session);
  assert.equal(liveDetail.state, 'open');
  assert.equal(liveDetail.bytesLive, true);
  assert.equal(liveDetail.bytesFromClient, 1000);
  assert.equal(liveDetail.bytesFromAgent, 300);

  const bye = closed(agentWs);
  connectWs.close(1000, 'done');
  await bye;
  await waitFor(async () => !!(await h.relay.store.sessions.get(sid))?.endedAt, 'session end recorded');
  await waitFor(
    async () => (await h.relay.store.audit.query({ sid })).some((e) => e.type === 'session.close'),
    'session.close audited',
  );

  const shown = await run('session', 'show', sid, '--json');
  assert.equal(shown.code, 0, shown.err);
  const d = SessionDetail.parse(JSON.parse(shown.out));
  assert.equal(d.user, 'alice');
  assert.equal(d.device.name, 'test device');
  assert.equal(d.vm, TEST_VM);
  assert.deepEqual(d.ports, [22, 8888]);
  assert.equal(d.state, 'ended');
  assert.equal(d.bytesFromClient, 1000);
  assert.equal(d.bytesFromAgent, 300);
  assert.equal(d.bytesLive, false);
  assert.match(d.end!.reason, /^Connect closed the session: done \(code 1000\)$/);
  assert.deepEqual(
    d.audit.map((e) => e.type),
    ['session.authorize', 'session.open', 'session.close'],
  );
  assert.ok(d.openedAt && d.endedAt && d.durationMs !== undefined);

  const textShow = await run('session', 'show', sid);
  assert.equal(textShow.code, 0);
  assert.match(textShow.out, /^session +[0-9a-f-]{36}\nwho +alice, device "test device"/);
  assert.match(textShow.out, /bytes +1000 from Connect, 300 from the agent\n/);
  assert.match(textShow.out, /why +Connect closed the session: done \(code 1000\)/);
  assert.match(textShow.out, /session\.close +user:alice +info/);

  const unknown = await run('session', 'show', randomUUID());
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /^error: no session "/);
  assert.equal((await run('session', 'show', 'not-a-uuid')).code, 2);
  const apiUnknown = await api(h.relay, 'GET', `/admin/sessions/${randomUUID()}`, { token });
  assert.equal(apiUnknown.status, 404);
  agent.close();
});

test('session show names who closed a session the relay ended (an admin kill)', async (t) => {
  const { h, run } = await relayWithCli(t);
  const { agent, session } = await startSession(h);
  const sid = session.sessionId;
  const agentWs = await agent.openSession(h.relay, h.credential, sid);
  await openConnect(h.relay, sid, session.ticket);
  await waitFor(() => h.relay.sessionStats(sid)?.state === 'paired', 'paired');
  const kill = await run('session', 'kill', sid);
  assert.equal(kill.code, 0, kill.err);
  await closed(agentWs);
  await waitFor(async () => !!(await h.relay.store.sessions.get(sid))?.endedAt, 'end recorded');
  const d = SessionDetail.parse(JSON.parse((await run('session', 'show', sid, '--json')).out));
  assert.equal(d.end?.reason, 'an administrator closed this session');
  assert.equal(d.end?.by, 'cli:tester');
  assert.equal(d.killRequested?.by, 'cli:tester');
  assert.ok(d.audit.some((e) => e.type === 'session.revoked' && e.actor === 'cli:tester'));
  agent.close();
});
