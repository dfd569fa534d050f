import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { CommandRequestMessage, type KeyPair, type SshClientSession } from '@microsoft/dev-tunnels-ssh';
import { generateRelaySigningKey, REDACT_PATHS, TokenIssuer } from '@airlock/shared';
import { generateHostKey, keyFingerprint } from '@airlock/shared/ssh';
import { pino, type Logger } from 'pino';
import type { RunningAgent } from './agent.js';
import { FakeRelay } from './testing/fake-relay.js';
import {
  collect,
  connectClient,
  startTestAgent,
  waitForProcessGone,
  withTimeout,
  withOnlineAgent,
} from './testing/harness.js';

/** A ticket for alice to `sid`, naming `userKey` (a fresh key when not given). */
async function aliceTicket(relay: FakeRelay, sid: string, userKey?: KeyPair): Promise<string> {
  const ukey = await keyFingerprint(userKey ?? (await generateHostKey()));
  return (await relay.issuer.issueTicket({ sub: 'alice', sid, vm: relay.vmId, ukey, ports: [] })).token;
}

async function refusedReason(relay: FakeRelay, sid: string): Promise<string> {
  const m = await relay.until(
    () => relay.messages.find((x) => x.type === 'dial-refused' && x.sessionId === sid),
    5000,
    'dial-refused',
  );
  return m.type === 'dial-refused' ? m.reason : '';
}

describe('dial: the ticket is checked before anything is opened', () => {
  let relay: FakeRelay;
  let agent: RunningAgent;
  before(async () => {
    relay = await FakeRelay.start();
    agent = await startTestAgent(relay);
    await agent.whenOnline();
  });
  after(async () => {
    await agent.close();
    await relay.close();
  });

  const ukey = async () => keyFingerprint(await generateHostKey());

  test('a ticket signed by another key is refused (bad_signature)', async () => {
    const sid = randomUUID();
    const other = new TokenIssuer(generateRelaySigningKey().privateKey);
    const { token } = await other.issueTicket({ sub: 'alice', sid, vm: relay.vmId, ukey: await ukey(), ports: [] });
    relay.dial(sid, token);
    assert.match(await refusedReason(relay, sid), /bad_signature/);
    assert.ok(!relay.upgrades.some((u) => u.url.includes(sid)), 'no data socket for a refused dial');
  });

  test('an expired ticket is refused (expired)', async () => {
    const sid = randomUUID();
    const past = new TokenIssuer(relay.key.privateKey, () => Date.now() - 10 * 60_000);
    const { token } = await past.issueTicket({ sub: 'alice', sid, vm: relay.vmId, ukey: await ukey(), ports: [] });
    relay.dial(sid, token);
    assert.match(await refusedReason(relay, sid), /expired/);
  });

  test('a ticket for another VM is refused (wrong_vm)', async () => {
    const sid = randomUUID();
    const { token } = await relay.issuer.issueTicket({
      sub: 'alice',
      sid,
      vm: 'other-vm',
      ukey: await ukey(),
      ports: [],
    });
    relay.dial(sid, token);
    assert.match(await refusedReason(relay, sid), /wrong_vm.*other-vm/);
  });

  test('a ticket for another session is refused (wrong_session)', async () => {
    const sid = randomUUID();
    const { token } = await relay.issuer.issueTicket({
      sub: 'alice',
      sid: randomUUID(),
      vm: relay.vmId,
      ukey: await ukey(),
      ports: [],
    });
    relay.dial(sid, token);
    assert.match(await refusedReason(relay, sid), /wrong_session/);
  });

  test('a tampered ticket is refused', async () => {
    const sid = randomUUID();
    const { token } = await relay.issuer.issueTicket({
      sub: 'alice',
      sid,
      vm: relay.vmId,
      ukey: await ukey(),
      ports: [],
    });
    const [h, p, s] = token.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    claims.ports = [22];
    const forged = [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
    relay.dial(sid, forged);
    assert.match(await refusedReason(relay, sid), /bad_signature/);
  });

  test('the data socket carries the credential header and the session id, and the host key is the registered one', async () => {
    const c = await connectClient(relay, agent);
    try {
      assert.equal(c.authenticated, true);
      const up = relay.upgrades.find((u) => u.url.includes(c.sid))!;
      assert.equal(up.path, '/ws/agent/session');
      assert.equal(up.authorization, `Bearer ${relay.credential}`);
      assert.equal(new URL(up.url, 'http://x').searchParams.get('sid'), c.sid);
    } finally {
      await c.close();
    }
  });

  test('a client key other than the one in the ticket is refused', async () => {
    const c = await connectClient(relay, agent, { ticketKey: await generateHostKey() });
    try {
      assert.equal(c.authenticated, false);
      await assert.rejects(c.client.openChannel(), 'no channels without authentication');
    } finally {
      await c.close();
    }
  });

  test('password authentication is refused', async () => {
    const c = await connectClient(relay, agent, { authenticate: false });
    try {
      assert.equal(await c.client.authenticate({ username: 'alice', password: 'hunter2' }), false);
    } finally {
      await c.close();
    }
  });
});

test('the agent speaks only after the client: nothing is lost on a relay that has not paired yet', async () => {
  // A client that never speaks: the agent waits for it until its auth timeout and then closes the
  // socket. The whole wait is the window it could have spoken in; ended by the agent, not a sleep.
  await withOnlineAgent({ authTimeoutMs: 500 }, async ({ relay }) => {
    const userKey = await generateHostKey();
    const sid = randomUUID();
    const { token } = await relay.issuer.issueTicket({
      sub: 'alice',
      sid,
      vm: relay.vmId,
      ukey: await keyFingerprint(userKey),
      ports: [],
    });
    relay.dial(sid, token);
    const socket = await relay.sessionSocket(sid);
    let frames = 0;
    socket.on('message', () => frames++);
    if (socket.readyState !== socket.CLOSED) await new Promise((r) => socket.once('close', r));
    assert.equal(frames, 0, 'no SSH banner before the client spoke');
  });
});

test('a client that does not authenticate in time is disconnected', async () => {
  await withOnlineAgent({ authTimeoutMs: 300 }, async ({ relay, agent }) => {
    const c = await connectClient(relay, agent, { authenticate: false });
    const closed = new Promise<void>((r) => c.client.onClosed(() => r()));
    await withTimeout(closed, 3000, 'session closed by the auth timeout');
    await c.close();
  });
});

/** Runs `sleep 30` on a new session channel and returns its pid. */
async function startSleeper(client: SshClientSession): Promise<number> {
  const ch = await client.openChannel();
  const out = collect(ch);
  const cmd = new CommandRequestMessage();
  cmd.command = 'echo PID=$$; exec sleep 30';
  cmd.wantReply = true;
  assert.equal(await ch.request(cmd), true);
  return Number(/PID=(\d+)/.exec(await out.waitFor(/PID=\d+\n/))![1]);
}

test('close() ends live sessions and their processes', async () => {
  await withOnlineAgent({}, async ({ relay, agent }) => {
    const c = await connectClient(relay, agent);
    const pid = await startSleeper(c.client);
    assert.equal(agent.activeSessions, 1);
    const closed = new Promise<void>((r) => c.client.onClosed(() => r()));
    await withTimeout(agent.close(), 5000, 'agent close');
    await withTimeout(closed, 3000, 'client sees the session end');
    await waitForProcessGone(pid, 3000);
    assert.equal(agent.activeSessions, 0);
    await c.close();
  });
});

test('when the data socket drops, the session waits for a resume with its processes running, and ends with them after the window', async () => {
  await withOnlineAgent({ resumeWindowMs: 1500 }, async ({ relay, agent }) => {
    const c = await connectClient(relay, agent);
    const pid = await startSleeper(c.client);
    relay.dropSession(c.sid);
    await relay.until(() => agent.suspendedSessions === 1, 3000, 'session suspended');
    assert.doesNotThrow(() => process.kill(pid, 0), 'the process outlives the connection');
    assert.equal(agent.activeSessions, 1);
    await waitForProcessGone(pid, 5000);
    await relay.until(() => agent.activeSessions === 0, 3000, 'session removed after the window');
    await c.close();
  });
});

test('session logs carry the sid and never the ticket or the credential', async () => {
  const relay = await FakeRelay.start();
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  const agent = await startTestAgent(relay, {}, { logger: pino({ level: 'debug', redact: REDACT_PATHS }, sink) });
  try {
    await agent.whenOnline();
    const c = await connectClient(relay, agent, { ticketKey: await generateHostKey() }); // refused key: logged
    await c.close();
    const sid = randomUUID();
    const { token } = await relay.issuer.issueTicket({
      sub: 'alice',
      sid,
      vm: 'elsewhere',
      ukey: 'SHA256:x',
      ports: [],
    });
    relay.dial(sid, token);
    await refusedReason(relay, sid);
    await relay.until(() => lines.some((l) => l.includes('dial-refused')), 2000, 'refusal logged');
    const all = lines.join('\n');
    assert.ok(!all.includes(relay.credential.split('.')[1]!), 'credential secret not in logs');
    assert.ok(!all.includes(token.split('.')[2]!), 'ticket not in logs');
    const sessionLines = lines
      .map((l) => JSON.parse(l) as { sid?: string; msg: string })
      // (the start-up warning about the agent's own user mentions sessions but is not about one)
      .filter((l) => /ticket|client key|session/.test(l.msg) && !l.msg.startsWith('sessions run as'));
    assert.ok(sessionLines.length >= 3);
    for (const l of sessionLines) assert.ok(l.sid, `line without sid: ${l.msg}`);
  } finally {
    await agent.close();
    await relay.close();
  }
});

test('a dial beyond maxSessions is refused before any socket is opened', async () => {
  await withOnlineAgent({ maxSessions: 1 }, async ({ relay, agent }) => {
    const c1 = await connectClient(relay, agent);
    assert.equal(c1.authenticated, true);
    const sid = randomUUID();
    relay.dial(sid, await aliceTicket(relay, sid));
    assert.equal(await refusedReason(relay, sid), 'agent is at its session limit');
    assert.ok(!relay.upgrades.some((u) => u.url.includes(sid)), 'no data socket beyond the limit');
    await c1.close();
    await relay.until(() => agent.activeSessions === 0, 3000, 'first session gone');
    const c2 = await connectClient(relay, agent);
    assert.equal(c2.authenticated, true, 'a place is free again');
    await c2.close();
  });
});

test('dials that arrive together are held to maxSessions; a second dial of the same session is ignored', async () => {
  await withOnlineAgent({ maxSessions: 2 }, async ({ relay, agent }) => {
    const ukey = await keyFingerprint(await generateHostKey());
    const sids: string[] = Array.from({ length: 8 }, () => randomUUID());
    const tickets = await Promise.all(
      sids.map((sid) => relay.issuer.issueTicket({ sub: 'alice', sid, vm: relay.vmId, ukey, ports: [] })),
    );
    // All sent before the agent verifies any ticket; the first twice.
    relay.dial(sids[0]!, tickets[0]!.token);
    sids.forEach((sid, i) => relay.dial(sid, tickets[i]!.token));
    const refused = () =>
      relay.messages.filter(
        (m) => m.type === 'dial-refused' && sids.includes(m.sessionId) && /session limit/.test(m.reason),
      );
    await relay.until(
      () => refused().length === sids.length - 2 || undefined,
      10_000,
      'all dials past the limit refused',
    );
    const opened = (sid: string) => relay.upgrades.filter((u) => u.url.includes(sid)).length;
    await relay.until(() => sids.reduce((n, sid) => n + opened(sid), 0) === 2 || undefined, 10_000, 'two data sockets');
    assert.equal(opened(sids[0]!), 1, 'one data socket for the session dialled twice');
    assert.ok(agent.activeSessions <= 2, `${agent.activeSessions} sessions held`);
  });
});

test('a dial that the end of its session overtakes opens nothing and is refused, saying why', async () => {
  await withOnlineAgent({}, async ({ relay, agent }) => {
    const sid = randomUUID();
    const token = await aliceTicket(relay, sid);
    // The end arrives while the agent is still checking the dial's ticket.
    relay.dial(sid, token);
    relay.endSession(sid, 'revoked by an admin');
    assert.equal(await refusedReason(relay, sid), 'the relay ended the session: revoked by an admin');
    assert.ok(!relay.upgrades.some((u) => u.url.includes(sid)), 'no data socket');
    assert.equal(agent.activeSessions, 0);
  });
});

test('a resume that the end of its session overtakes opens nothing and is refused, saying why', async () => {
  await withOnlineAgent({}, async ({ relay, agent }) => {
    const userKey = await generateHostKey();
    const c = await connectClient(relay, agent, { userKey });
    const token = await aliceTicket(relay, c.sid, userKey);
    const socketsBefore = relay.upgrades.filter((u) => u.url.includes(c.sid)).length;
    // The end arrives while the agent is still checking the resume's ticket.
    relay.dial(c.sid, token, { resume: true });
    relay.endSession(c.sid, 'revoked by an admin');
    assert.equal(await refusedReason(relay, c.sid), 'the session ended while its resume was checked');
    await relay.until(() => agent.activeSessions === 0 || undefined, 5000, 'the session gone');
    assert.equal(relay.upgrades.filter((u) => u.url.includes(c.sid)).length, socketsBefore, 'no new data socket');
    await c.close();
  });
});

function captureLogger(): { logger: Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as never);
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

test('start-up warns about a credential file readable by others and about sessions under the agent user', async () => {
  const relay = await FakeRelay.start();
  const dir = mkdtempSync(join(tmpdir(), 'agent-cred-'));
  try {
    const file = join(dir, 'credential');
    writeFileSync(file, `${relay.credential}\n`);
    const warnings = async (mode: number): Promise<string[]> => {
      chmodSync(file, mode);
      const { logger, lines } = captureLogger();
      const agent = await startTestAgent(relay, { credential: undefined, credentialFile: file }, { logger });
      await agent.whenOnline();
      await agent.close();
      return lines.filter((l) => l.level === 40).map((l) => l.msg);
    };
    const loose = await warnings(0o644);
    assert.ok(
      loose.some((m) => /credential file is readable by group or others/.test(m)),
      loose.join('\n'),
    );
    // Tests run as the agent's own user (no osUser): warned, not refused.
    assert.ok(
      loose.some((m) => /^sessions run as the agent's own user \S+, who can read the agent credential/.test(m)),
      loose.join('\n'),
    );
    const tight = await warnings(0o600);
    assert.ok(!tight.some((m) => /credential file/.test(m)), tight.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await relay.close();
  }
});
