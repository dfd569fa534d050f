import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ChannelRequestMessage, type SshChannel } from '@microsoft/dev-tunnels-ssh';
import { PtyRequestMessage, ptyRequest, subsystemRequest, windowChange } from '@airlock/shared/ssh';
import type { RunningAgent } from './agent.js';
import { FakeRelay } from './testing/fake-relay.js';
import {
  collect,
  connectClient,
  startTestAgent,
  withTimeout,
  type TestClient,
  execRequest as exec,
} from './testing/harness.js';

describe('session channel requests the agent bounds', () => {
  let relay: FakeRelay;
  let agent: RunningAgent;
  let c: TestClient;

  before(async () => {
    relay = await FakeRelay.start();
    agent = await startTestAgent(relay, { shell: '/bin/sh' });
    await agent.whenOnline();
    c = await connectClient(relay, agent);
  });
  after(async () => {
    await c.close();
    await agent.close();
    await relay.close();
  });

  const reportsFor = (target: string) =>
    relay.messages.flatMap((m) =>
      m.type === 'channel-refused' && m.sessionId === c.sid && m.target === target ? [m] : [],
    );

  test('a pty-req with 2³²−1 columns is refused, logged and reported; the channel still takes a sane one', async () => {
    const ch = await c.client.openChannel();
    const out = collect(ch);
    assert.equal(await ch.request(ptyRequest({ term: 'xterm', cols: 2 ** 32 - 1, rows: 24 })), false);
    const report = await relay.until(() => reportsFor('pty-req')[0], 5000, 'pty-req refusal report');
    assert.match(report.reason, /^4294967295×24 is beyond the largest terminal the agent sets up \(4096×4096\)$/);
    assert.equal(await ch.request(ptyRequest({ term: 'xterm', cols: 100, rows: 40 })), true);
    assert.equal(await ch.request(exec('stty size')), true);
    await withTimeout(out.closed, 10_000, 'stty exit');
    assert.equal(out.text().trim(), '40 100');
  });

  test('a pty-req with a zero size gets the default 80×24 (RFC 4254: zero means not given)', async () => {
    const ch = await c.client.openChannel();
    const out = collect(ch);
    assert.equal(await ch.request(ptyRequest({ term: 'xterm', cols: 0, rows: 0 })), true);
    assert.equal(await ch.request(exec('stty size')), true);
    await withTimeout(out.closed, 10_000, 'stty exit');
    assert.equal(out.text().trim(), '24 80');
  });

  test('a pty-req whose terminal type is not a name is refused', async () => {
    const ch = await c.client.openChannel();
    collect(ch);
    const m = new PtyRequestMessage();
    Object.assign(m, { term: 'xterm\nLD_PRELOAD=/tmp/evil.so', cols: 80, rows: 24 });
    assert.equal(await ch.request(m), false);
    await ch.close();
  });

  test('an absurd window-change leaves the terminal as it was and is reported', async () => {
    const ch = await c.client.openChannel();
    const out = collect(ch);
    assert.equal(await ch.request(ptyRequest({ term: 'xterm', cols: 90, rows: 30 })), true);
    const shell = new ChannelRequestMessage('shell', true);
    assert.equal(await ch.request(shell), true);
    await ch.request(windowChange(0xffffffff, 0xffffffff));
    await ch.request(windowChange(0, 0)); // "no size": ignored without a report
    await relay.until(() => reportsFor('window-change')[0], 5000, 'window-change refusal report');
    await ch.send(Buffer.from('echo S=$(stty size)=; exit\n'));
    await withTimeout(out.closed, 10_000, 'shell exit');
    assert.match(out.text(), /S=30 90=/);
    assert.equal(reportsFor('window-change').length, 1);
  });

  test('an unknown subsystem is refused and reported', async () => {
    const ch = await c.client.openChannel();
    collect(ch);
    assert.equal(await ch.request(subsystemRequest('netconf')), false);
    const report = await relay.until(() => reportsFor('subsystem "netconf"')[0], 5000, 'subsystem refusal report');
    assert.equal(report.reason, 'subsystem "netconf" is not offered (only sftp)');
    await ch.close();
  });

  test('env, X11 and agent forwarding, unknown requests and a second command are refused and reported', async () => {
    // A session of its own: the reports per session and second are limited (5), and the tests
    // above used this second's share of the shared one.
    const own = await connectClient(relay, agent);
    const reportsFor = (target: string) =>
      relay.messages.flatMap((m) =>
        m.type === 'channel-refused' && m.sessionId === own.sid && m.target === target ? [m] : [],
      );
    const ch = await own.client.openChannel();
    const out = collect(ch);
    const expected: Array<[string, string, RegExp]> = [
      ['env', 'env', /^environment variables are not taken from the client/],
      ['x11-req', 'x11-req', /^X11 forwarding is not offered$/],
      ['auth-agent-req@openssh.com', 'auth-agent-req@openssh.com', /^SSH agent forwarding is not offered$/],
      ['no-such-thing', 'request "no-such-thing"', /^channel request "no-such-thing" is not offered$/],
    ];
    for (const [type, target, reason] of expected) {
      assert.equal(await ch.request(new ChannelRequestMessage(type, true)), false, type);
      const report = await relay.until(() => reportsFor(target)[0], 5000, `${type} refusal report`);
      assert.match(report.reason, reason);
    }
    assert.equal(await ch.request(exec('sleep 30')), true);
    assert.equal(await ch.request(exec('echo second')), false);
    const second = await relay.until(() => reportsFor('exec')[0], 5000, 'second exec refusal report');
    assert.match(second.reason, /^a process already runs on this channel/);
    await ch.close();
    await withTimeout(out.closed, 5000, 'channel closed');
    await own.close();
  });

  test('5 MB piped into sha256sum arrives intact, without a drain listener per chunk', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const ch: SshChannel = await c.client.openChannel();
      const out = collect(ch);
      // The command reads slowly at first, so input backs up in the pipe to it.
      assert.equal(await ch.request(exec('sleep 0.5; sha256sum')), true);
      const payload = randomBytes(5 * 1024 * 1024);
      for (let i = 0; i < payload.length; i += 32 * 1024) await ch.send(payload.subarray(i, i + 32 * 1024));
      await ch.send(Buffer.alloc(0));
      const closed = await withTimeout(out.closed, 20_000, 'sha256sum exit');
      assert.equal(closed.exitStatus, 0);
      assert.equal(out.text().split(' ')[0], createHash('sha256').update(payload).digest('hex'));
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      assert.deepEqual(
        warnings.map((w) => `${w.name}: ${w.message}`),
        [],
      );
    } finally {
      process.off('warning', onWarning);
    }
  });
});
