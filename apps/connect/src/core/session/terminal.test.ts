import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CloseCode } from '@airlock/shared';
import { fakeCredentials, startFakeRelay, type FakeRelay } from '../test-support/fake-relay.js';
import { openTerminal, type Terminal } from './terminal.js';
import { openVmSession } from './vm-session.js';

const TIMEOUT = { timeout: 20_000 };

async function terminalOn(relay: FakeRelay, highWaterBytes?: number): Promise<Terminal> {
  const session = await openVmSession({ credentials: await fakeCredentials(relay), vm: 'demo-vm' });
  assert.ok(session.ok);
  const t = await openTerminal(session.value, { cols: 100, rows: 30, ...(highWaterBytes ? { highWaterBytes } : {}) });
  assert.ok(t.ok);
  return t.value;
}

/** Collects a terminal's output as text; `until(re)` waits for it to match. */
function collect(t: Terminal) {
  let text = '';
  let bytes = 0;
  const waiters: Array<() => void> = [];
  t.onOutput((d) => {
    assert.ok(d instanceof Uint8Array);
    text += Buffer.from(d).toString('utf8');
    bytes += d.byteLength;
    for (const w of waiters.splice(0)) w();
  });
  const until = async (re: RegExp) => {
    while (!re.test(text)) await new Promise<void>((r) => waiters.push(r));
  };
  return { until, text: () => text, bytes: () => bytes };
}

test('a terminal is plain data: text in, bytes out, a size, and how it ended', TIMEOUT, async () => {
  const relay = await startFakeRelay();
  try {
    const t = await terminalOn(relay);
    const out = collect(t);
    await out.until(/pty\$ /);
    assert.deepEqual(relay.seen.windowChanges.at(-1), [100, 30]);
    t.write('hello there\n');
    await out.until(/you said: hello there/);
    t.write(new TextEncoder().encode('bytes too\n'));
    await out.until(/you said: bytes too/);
    t.resize(132, 43);
    while (relay.seen.windowChanges.length < 2) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(relay.seen.windowChanges.at(-1), [132, 43]);
    t.write('exit 3\n');
    assert.deepEqual(await t.ended, { kind: 'exited', exitStatus: 3 });
  } finally {
    await relay.close();
  }
});

test('output before the first listener is kept for it: the first prompt is never lost', TIMEOUT, async () => {
  const relay = await startFakeRelay();
  try {
    const t = await terminalOn(relay);
    // The prompt arrives while nobody listens yet (as while an API answer is on its way).
    await new Promise((r) => setTimeout(r, 500));
    const out = collect(t);
    await out.until(/pty\$ /);
    await t.close();
  } finally {
    await relay.close();
  }
});

test('a lost session and a revocation are told apart, with the session id', TIMEOUT, async () => {
  const relay = await startFakeRelay();
  try {
    const lost = await terminalOn(relay);
    relay.dropSessions(CloseCode.agentOffline, 'agent restarted');
    const end = await lost.ended;
    assert.equal(end.kind, 'session_lost');
    assert.ok(end.kind === 'session_lost' && end.error.code === 'agent_unavailable');
    assert.ok('sessionId' in end.error && end.error.sessionId === lost.sessionId);

    const revoked = await terminalOn(relay);
    relay.dropSessions(CloseCode.revoked, 'user alice was disabled');
    const r = await revoked.ended;
    assert.equal(r.kind, 'revoked');
    assert.ok(r.kind === 'revoked' && /user alice was disabled/.test(r.error.message));

    const closed = await terminalOn(relay);
    await closed.close();
    assert.deepEqual(await closed.ended, { kind: 'closed' });
  } finally {
    await relay.close();
  }
});

test('output stops at the high-water mark until acknowledged, and nothing is lost', TIMEOUT, async () => {
  const relay = await startFakeRelay();
  try {
    const high = 64 * 1024;
    const t = await terminalOn(relay, high);
    const out = collect(t);
    await out.until(/pty\$ /);
    const line = 'x'.repeat(600_000);
    t.write(`${line}\n`);
    // Reading has stopped: no more than the mark plus what was already on its way.
    await new Promise((r) => setTimeout(r, 500));
    const before = out.bytes();
    assert.ok(before >= high, `got ${before}`);
    assert.ok(before < high + 128 * 1024, `got ${before} bytes without acknowledging any`);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(out.bytes(), before, 'still paused');
    // Acknowledge as a renderer would after drawing, until the whole echo is in.
    let acknowledged = 0;
    const acker = setInterval(() => {
      t.acknowledge(out.bytes() - acknowledged);
      acknowledged = out.bytes();
    }, 20);
    try {
      await out.until(new RegExp(`you said: x{${line.length}}`));
    } finally {
      clearInterval(acker);
    }
    t.write('exit 0\n');
    assert.deepEqual(await t.ended, { kind: 'exited', exitStatus: 0 });
  } finally {
    await relay.close();
  }
});
