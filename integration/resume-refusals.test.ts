// What a resume must not do: let anyone but the session's owner in, outlive its window, survive a
// revocation, or carry on into a VM that restarted. Real relay, agent and `airlock forward`
// processes; the network is a proxy that resets every connection and can refuse new ones.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { listenOnLoopback, portOf as port, tearDown } from '@airlock/shared/testing';
import { airlockBin, startSystem, waitFor, type AgentProcess, type OtherUser, type System } from './harness.js';
import { download, downloadServer } from './support/checked-download.js';
import { CutProxy } from '@airlock/shared/testing';
import { forwardVia, type ForwardCli } from './support/forward-cli.js';
import { homeVia } from './support/home-via.js';
import { relayCli } from './support/relay-cli.js';

/** The agent keeps a dropped session this long; Connect would keep trying for 3 minutes. */
const AGENT_WINDOW_MS = 3000;

let sys: System;
let agent: AgentProcess;
let agentPath: CutProxy;
let connectPath: CutProxy;
let home: string;
let bob: OtherUser;
const source = downloadServer(64 * 1024 * 1024 * 1024);

before(async () => {
  await listenOnLoopback(source.server);
  sys = await startSystem({ ports: [port(source.server)], noAgent: true });
  agentPath = await CutProxy.start(sys.relay.port);
  connectPath = await CutProxy.start(sys.relay.port);
  agent = await startAgentViaProxy();
  home = homeVia(sys.home, connectPath.port);
  bob = await sys.addUser('bob');
});

after(() =>
  tearDown('resume-refusals.test.ts', [
    ['the cut proxies to close', () => Promise.all([agentPath?.close(), connectPath?.close()])],
    ['the relay and agent to stop', () => sys?.close()],
    ['the source to close', () => source.server.close()],
    ['the home to be removed', () => home && rmSync(home, { recursive: true, force: true })],
  ]),
);

async function startAgentViaProxy(resumeWindowMs = AGENT_WINDOW_MS): Promise<AgentProcess> {
  const started = await sys.startAgent({
    relayUrl: `https://127.0.0.1:${agentPath.port}`,
    resumeWindowMs,
  });
  await waitFor(
    () => sys.relay.isAgentOnline(sys.vm),
    20_000,
    () => 'agent never came online through the proxy',
  );
  return started;
}

/** `airlock forward` through the proxy, and a download under way through it. */
async function forwardWithDownload(): Promise<{ forward: ForwardCli; ended: ReturnType<typeof download> }> {
  const forward = await forwardVia({ airlockBin, vm: sys.vm, cliEnv: sys.cliEnv }, home, [port(source.server)]);
  let got = 0;
  const ended = download(forward.localPort(port(source.server)), (n) => (got = n));
  await waitFor(
    () => got > 4 * 1024 * 1024,
    20_000,
    () => `the download did not get going (${got} bytes)`,
  );
  return { forward, ended };
}

/**
 * The network goes away under every connection (or only Connect's: a laptop that went offline)
 * and stays away until `restore()`.
 */
function partition(which: 'both' | 'connect' = 'both'): { restore: () => void } {
  const paths = which === 'both' ? [connectPath, agentPath] : [connectPath];
  for (const p of paths) p.block(true);
  assert.ok(connectPath.cut() > 0, 'Connect connections were cut');
  if (which === 'both') agentPath.cut();
  return { restore: () => paths.forEach((p) => p.block(false)) };
}

async function auditTypes(sid: string): Promise<{ type: string; data: Record<string, unknown> }[]> {
  const r = await relayCli(`${sys.dir}/relay`, ['audit', 'query', '--sid', sid, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; data: Record<string, unknown> });
}

describe('only the owner resumes', () => {
  test("another user's token with the session's id and resume token: refused with a reason, and audited", async () => {
    const created = await sys.api('POST', '/sessions', { vm: sys.vm });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const { sessionId, resumeToken } = created.body as { sessionId: string; resumeToken: string };
    const stolen = await bob.api('POST', `/sessions/${sessionId}/resume`, { resumeToken });
    assert.equal(stolen.status, 403);
    assert.equal(stolen.body.error.code, 'resume_refused');
    assert.match(stolen.body.error.message, /only the user and device that opened it may resume it/);
    const refusals = (await auditTypes(sessionId)).filter((e) => e.type === 'session.resume_refused');
    assert.equal(refusals.length, 1);
    assert.equal(refusals[0]!.data.reason, 'session belongs to alice');
  });

  test("the owner with another session's resume token, or a forged one: refused", async () => {
    const a = (await sys.api('POST', '/sessions', { vm: sys.vm })).body as { sessionId: string; resumeToken: string };
    const b = (await sys.api('POST', '/sessions', { vm: sys.vm })).body as { sessionId: string; resumeToken: string };
    const crossed = await sys.api('POST', `/sessions/${a.sessionId}/resume`, { resumeToken: b.resumeToken });
    assert.equal(crossed.status, 403);
    assert.match(crossed.body.error.message, /resume token is for another session/);
    const [h, p] = a.resumeToken.split('.');
    const forged = await sys.api('POST', `/sessions/${a.sessionId}/resume`, { resumeToken: `${h}.${p}.AAAA` });
    assert.equal(forged.status, 403);
    // A ticket is not a resume token (another type and audience).
    const ticket = (await sys.api('POST', '/sessions', { vm: sys.vm })).body as { sessionId: string; ticket: string };
    const asTicket = await sys.api('POST', `/sessions/${ticket.sessionId}/resume`, { resumeToken: ticket.ticket });
    assert.equal(asTicket.status, 403);
    const bad = await sys.api('POST', `/sessions/not-a-uuid/resume`, { resumeToken: a.resumeToken });
    assert.equal(bad.status, 400);
  });
});

describe('what has ended stays ended', () => {
  type Created = { sessionId: string; resumeToken: string; ticket: string };
  const open = async (): Promise<Created> => {
    const created = await sys.api('POST', '/sessions', { vm: sys.vm });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    return created.body as Created;
  };
  const resume = (s: Created) => sys.api('POST', `/sessions/${s.sessionId}/resume`, { resumeToken: s.resumeToken });
  const refusalReasons = async (sid: string) =>
    (await auditTypes(sid)).filter((e) => e.type === 'session.resume_refused').map((e) => e.data.reason);

  test('a session an administrator killed: 410 "an administrator ended this session", audited', async () => {
    const s = await open();
    const killed = await sys.relay.admin.killSession('test', s.sessionId);
    assert.ok(killed.ok, JSON.stringify(killed));
    const r = await resume(s);
    assert.equal(r.status, 410, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'session_ended');
    assert.match(r.body.error.message, /an administrator ended this session/);
    assert.deepEqual(await refusalReasons(s.sessionId), ['killed by an administrator']);
  });

  test('a session Connect closed (not dropped): 410 naming how it ended, audited', async () => {
    const s = await open();
    const ws = sys.connectWs(s.sessionId, s.ticket);
    await once(ws, 'open');
    ws.close(1000, 'done');
    await waitFor(
      async () => !!(await sys.relay.store.sessions.get(s.sessionId))?.endedAt,
      20_000,
      () => 'the relay did not record the end of the session',
    );
    const r = await resume(s);
    assert.equal(r.status, 410, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'session_ended');
    assert.match(r.body.error.message, /^the session has ended: Connect closed the session/);
    const reasons = await refusalReasons(s.sessionId);
    assert.equal(reasons.length, 1);
    assert.match(String(reasons[0]), /^already ended: Connect closed the session/);
  });

  test('a session the relay has no record of (its database was restored from an older copy): 404, audited', async () => {
    const s = await open();
    const db = new Database(sys.cliEnv.AIRLOCK_TEST_RELAY_DB!);
    try {
      assert.equal(db.prepare('DELETE FROM sessions WHERE id = ?').run(s.sessionId).changes, 1);
    } finally {
      db.close();
    }
    const r = await resume(s);
    assert.equal(r.status, 404, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'session_not_found');
    assert.deepEqual(await refusalReasons(s.sessionId), ['unknown session']);
  });
});

test('past the agent’s window: Connect says it could not resume and why; the forward opens a new session', async () => {
  const { forward, ended } = await forwardWithDownload();
  try {
    const net = partition();
    await waitFor(
      () => /resuming the session/.test(forward.stderr()),
      30_000,
      () => `no resume started: ${forward.stderr()}`,
    );
    // The agent gives the session up while the network is away.
    await waitFor(
      () => /could not resume: not resumed within 3 s/.test(agent.output()),
      15_000,
      () => `the agent kept the session: ${agent.output().slice(-2000)}`,
    );
    net.restore();
    await waitFor(
      () => /could not resume: the agent refused the session: this agent holds no such session/.test(forward.stderr()),
      30_000,
      () => `no clear end: ${forward.stderr()}`,
    );
    // A truncated download is never a complete one.
    assert.equal((await ended).end, 'ECONNRESET');
    await waitFor(
      () => /reconnected to/.test(forward.stderr()),
      20_000,
      () => `the forward did not open a new session: ${forward.stderr()}`,
    );
  } finally {
    await forward.stop();
  }
});

test('revoked while waiting to be resumed: the session ends on both sides, and the resume is refused', async () => {
  // A window far longer than the test's steps: with 3 s, a loaded machine let the window run out
  // before the revocation arrived (CI, once), and the agent ended the session for that reason.
  await agent.stop();
  agent = await startAgentViaProxy(120_000);
  const { forward, ended } = await forwardWithDownload();
  try {
    const sid = (await sys.relay.store.sessions.listLive())[0]?.id;
    assert.ok(sid, 'the forward has a live session');
    // The laptop goes offline; the agent's side stays connected to the relay.
    const net = partition('connect');
    await waitFor(
      () => /resuming the session/.test(forward.stderr()),
      30_000,
      () => `no resume started: ${forward.stderr()}`,
    );
    const revoked = await relayCli(`${sys.dir}/relay`, ['grant', 'remove', sys.user, sys.vm]);
    assert.equal(revoked.code, 0, revoked.stderr);
    await waitFor(
      async () => (await auditTypes(sid)).some((e) => e.type === 'session.revoked'),
      30_000,
      () => 'the relay did not end the waiting session',
    );
    // The agent ends it at once (not at the end of its two-minute window): the relay told it.
    await waitFor(
      () => /the relay ended the session/.test(agent.output()),
      30_000,
      () => `the agent kept the revoked session: ${agent.output().slice(-2000)}`,
    );
    net.restore();
    await waitFor(
      () => /could not resume: .*(no longer have access|session has ended)/.test(forward.stderr()),
      30_000,
      () => `no clear refusal: ${forward.stderr()}`,
    );
    assert.equal((await ended).end, 'ECONNRESET');
  } finally {
    connectPath.block(false); // a failure above must not leave the next test without a network
    await forward.stop();
    const granted = await relayCli(`${sys.dir}/relay`, ['grant', 'add', sys.user, sys.vm]);
    assert.equal(granted.code, 0, granted.stderr);
  }
});

test('the agent restarted (a new host key): Connect says the VM restarted, and a new session works at once', async () => {
  const { forward, ended } = await forwardWithDownload();
  try {
    const net = partition();
    await agent.stop();
    agent = await (async () => {
      net.restore();
      return startAgentViaProxy();
    })();
    await waitFor(
      () => /could not resume: the VM restarted \(its host key is now/.test(forward.stderr()),
      30_000,
      () => `no clear end: ${forward.stderr()}`,
    );
    assert.equal((await ended).end, 'ECONNRESET');
    const r = await sys.cli(['exec', sys.vm, '--', 'echo', 'new-session-ok']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /new-session-ok/);
  } finally {
    await forward.stop();
  }
});
