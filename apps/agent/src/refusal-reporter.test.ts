import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { RefusalReporter, type ChannelRefusedMessage } from './refusal-reporter.js';

function setup(perSecond = 3) {
  const sent: ChannelRefusedMessage[] = [];
  let now = 1_000_000;
  let linkUp = true;
  const reporter = new RefusalReporter({
    send: (m) => (linkUp ? (sent.push(m), true) : false),
    perSecond,
    now: () => now,
  });
  return {
    sent,
    reporter,
    advance: (ms: number) => (now += ms),
    setLink: (up: boolean) => (linkUp = up),
  };
}

const forward = (port: number) => ({ channel: 'direct-tcpip', target: `10.0.0.1:${port}`, reason: 'host not allowed' });

test('at most perSecond reports per session per second; the next report announces what was held', () => {
  const { sent, reporter, advance } = setup(3);
  const sid = randomUUID();
  const results = Array.from({ length: 10 }, (_, i) => reporter.report(sid, forward(i)));
  assert.deepEqual(results, ['sent', 'sent', 'sent', ...Array<string>(7).fill('limited')]);
  assert.equal(sent.length, 3);
  assert.deepEqual(sent[0], {
    type: 'channel-refused',
    sessionId: sid,
    channel: 'direct-tcpip',
    target: '10.0.0.1:0',
    reason: 'host not allowed',
  });

  advance(999);
  assert.equal(reporter.report(sid, forward(10)), 'limited', 'still the same second');
  advance(1);
  assert.equal(reporter.report(sid, forward(11)), 'sent');
  assert.equal(sent.at(-1)!.reason, 'host not allowed (+8 earlier refusals not reported: rate limit)');
  assert.equal(reporter.report(sid, forward(12)), 'sent');
  assert.equal(sent.at(-1)!.reason, 'host not allowed', 'announced once');

  reporter.endSession(sid);
  assert.equal(sent.length, 5, 'nothing held back: no summary');
});

test('sessions have separate budgets, and the session end sums up what was never announced', () => {
  const { sent, reporter } = setup(1);
  const a = randomUUID();
  const b = randomUUID();
  assert.equal(reporter.report(a, forward(1)), 'sent');
  assert.equal(reporter.report(b, forward(1)), 'sent');
  assert.equal(reporter.report(a, forward(2)), 'limited');
  assert.equal(reporter.report(a, forward(3)), 'limited');
  reporter.endSession(a);
  reporter.endSession(b);
  assert.deepEqual(sent.at(-1), {
    type: 'channel-refused',
    sessionId: a,
    channel: 'summary',
    reason: '2 further channel refusals in this session were not reported (rate limit)',
  });
  assert.equal(sent.length, 3);
});

test('long client-chosen values are clipped to what the wire schema allows', () => {
  const { sent, reporter } = setup(5);
  const sid = randomUUID();
  reporter.report(sid, { channel: 'x'.repeat(500), target: `${'h'.repeat(400)}:1`, reason: 'r'.repeat(500) });
  const m = sent[0]!;
  assert.equal(m.channel.length, 64);
  assert.equal(m.target!.length, 300);
  assert.equal(m.reason.length, 200);
});

test('a refusal while the control link is down is reported as link-down and not counted as held', () => {
  const { sent, reporter, setLink } = setup(5);
  const sid = randomUUID();
  setLink(false);
  assert.equal(reporter.report(sid, forward(1)), 'link-down');
  setLink(true);
  assert.equal(reporter.report(sid, forward(2)), 'sent');
  assert.equal(sent[0]!.reason, 'host not allowed');
});
