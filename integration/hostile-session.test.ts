// A user with a valid ticket who sends the agent something that is not SSH: that one session is
// closed with a reason (logged with its session id, audited by the relay), while the agent stays
// online and another user's live session on the same VM goes on.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { SessionResponse } from '@airlock/shared';
import { startSystem, waitFor, type OtherUser, type System } from './harness.js';

let sys: System;
let mallory: OtherUser;
before(async () => {
  sys = await startSystem();
  mallory = await sys.addUser('mallory');
});
after(async () => {
  await sys?.close();
});

/** Mallory's session: a ticket, the data socket, then `payload` as binary frames. */
async function attack(frames: Buffer[]): Promise<{ sid: string; code: number; reason: string }> {
  const res = await mallory.api('POST', '/sessions', { vm: sys.vm });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const session = SessionResponse.parse(res.body);
  const ws = mallory.connectWs(session.sessionId, session.ticket);
  const closed = once(ws, 'close') as Promise<[number, Buffer]>;
  await once(ws, 'open');
  for (const f of frames) ws.send(f);
  const [code, reason] = await closed;
  return { sid: session.sessionId, code, reason: reason.toString() };
}

/** Alice's long-running `exec cat`: proves her session still carries bytes both ways. */
function startEcho(): { send(line: string): Promise<void>; stop(): Promise<number | null> } {
  const child = sys.spawnCli(['exec', sys.vm, '--', 'cat']);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return {
    async send(line) {
      child.stdin!.write(`${line}\n`);
      await waitFor(
        () => out.includes(line),
        15_000,
        () => `alice's session did not echo ${line}: stdout ${JSON.stringify(out)} stderr ${err}`,
      );
    },
    async stop() {
      child.stdin!.end();
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}

test("300 bytes of 'A' on a data socket close that session only; the agent and alice's session go on", async () => {
  const alice = startEcho();
  await alice.send('before the attack');

  const hit = await attack([Buffer.alloc(300, 'A')]);
  // The agent closed the session with a reason, which the relay passed on to the attacker.
  assert.equal(hit.reason, 'agent closed the session: SSH handshake failed: Failed to read the protocol version');

  assert.equal(sys.agent.child.exitCode, null, `agent exited:\n${sys.agent.output()}`);
  assert.equal(sys.agent.child.signalCode, null);
  assert.ok(sys.relay.isAgentOnline(sys.vm), 'agent still online');
  await alice.send('after the attack');

  // Logged by the agent with the session id …
  await waitFor(
    () =>
      sys.agent
        .output()
        .split('\n')
        .some((l) => l.includes(hit.sid) && /protocol version|handshake/i.test(l)),
    10_000,
    () => `no agent log line with sid ${hit.sid}:\n${sys.agent.output()}`,
  );
  // … and audited by the relay for that session, with the agent's reason.
  await waitFor(
    async () =>
      (await sys.relay.store.audit.query({ type: 'session.close', limit: 1000 })).some(
        (e) => e.sid === hit.sid && e.outcome === 'failure' && /SSH/.test(JSON.stringify(e.data)),
      ),
    10_000,
    () => `no session.close audit entry for ${hit.sid}`,
  );
  assert.equal(await alice.stop(), 0);

  // And the VM still takes new sessions.
  const r = await sys.cli(['exec', sys.vm, '--', 'echo', 'still here']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'still here\n');
});

test('an old version, junk lines, bad packet lengths: each ends its own session at once with a reason', async () => {
  const inputs: Buffer[][] = [
    [Buffer.from('SSH-2.0-evil\r\n'), Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])],
    [Buffer.from('SSH-1.5-old\r\n')],
    [Buffer.from('\r\n'.repeat(30))],
    [Buffer.from('SSH-2.0-x\r\n'), Buffer.alloc(64 * 1024, 0x41)],
  ];
  for (const frames of inputs) {
    const hit = await attack(frames);
    assert.match(hit.reason, /^agent closed the session: SSH handshake failed: ./);
    assert.equal(sys.agent.child.exitCode, null, `agent exited:\n${sys.agent.output()}`);
  }
  assert.ok(sys.relay.isAgentOnline(sys.vm));
  const r = await sys.cli(['exec', sys.vm, '--', 'echo', 'ok']);
  assert.equal(r.code, 0, r.stderr);
});
