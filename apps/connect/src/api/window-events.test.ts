import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ApiEvent } from './contract/index.js';
import type { Dispatch } from './dispatch.js';
import { WindowEvents, type ApiWindow } from './window-events.js';
import { WindowHoldings } from './window-holdings.js';

const output = (terminalId: string, text: string): ApiEvent => ({
  type: 'terminal.output',
  terminalId,
  data: new TextEncoder().encode(text),
});
const textOf = (e: ApiEvent) =>
  e.type === 'terminal.output' ? `${e.terminalId}:${new TextDecoder().decode(e.data)}` : `${e.type}`;

/**
 * A window whose service answers `terminal.open` with `terminalId` after `beforeAnswer` ran; with
 * `waits`, only once `answer()` is called.
 */
function windowOn(events: WindowEvents, terminalId: string, beforeAnswer: () => void = () => {}, waits = false) {
  const delivered: string[] = [];
  let answer = () => {};
  const answered = waits ? new Promise<void>((r) => (answer = r)) : Promise.resolve();
  const dispatch: Dispatch = async (name) => {
    if (name !== 'terminal.open') return { ok: true, value: {} };
    await answered;
    beforeAnswer();
    return { ok: true, value: { terminalId, vm: 'vm', sessionId: 's' } };
  };
  // The callback runs only once an open is answered, after `window` is made.
  const holdings = new WindowHoldings(dispatch, (id) => events.opened(window, id));
  const window: ApiWindow = { holdings, deliver: (e) => delivered.push(textOf(e)) };
  events.add(window);
  return { window, holdings, delivered, answer: () => answer() };
}

const microtasks = (n: number) => {
  let p = Promise.resolve();
  for (let i = 0; i < n; i++) p = p.then(() => {});
  return p;
};

test("a terminal's output reaches its window whole and in order, whenever it comes around the open's answer", async () => {
  for (let k = 0; k <= 10; k++) {
    const events = new WindowEvents();
    const { holdings, delivered } = windowOn(events, 't1', () => {
      events.route(output('t1', 'prompt'));
      // The next output, k microtasks after the service answered (one socket read, several messages).
      void microtasks(k).then(() => events.route(output('t1', 'more')));
    });
    await holdings.windowDispatch('terminal.open', { vm: 'vm' });
    await microtasks(20);
    assert.deepEqual(delivered, ['t1:prompt', 't1:more'], `the second output ${k} microtasks after the answer`);
  }
});

test("another window never sees a terminal's events: not before its answer, not while it closes after its window went away", async () => {
  const events = new WindowEvents();
  const a = windowOn(events, 't1', () => events.route(output('t1', 'early')));
  const b = windowOn(events, 't2', () => undefined, true);
  await a.holdings.windowDispatch('terminal.open', { vm: 'vm' });
  // B starts opening (its answer waits), A goes away: A's terminal prints while it closes.
  const opening = b.holdings.windowDispatch('terminal.open', { vm: 'vm' });
  events.remove(a.window);
  void a.holdings.release();
  events.route(output('t1', 'last words'));
  events.route({ type: 'terminal.ended', terminalId: 't1', end: { kind: 'closed' } });
  events.route({ type: 'vms.changed', vms: [] });
  b.answer();
  await opening;
  assert.deepEqual(a.delivered, ['t1:early']);
  assert.deepEqual(b.delivered, ['vms.changed']);
});

test("a terminal answered after its window went away is nobody's: its events are not held for anyone", async () => {
  const events = new WindowEvents();
  const a = windowOn(events, 't1', () => undefined, true);
  const b = windowOn(events, 't2', () => undefined, true);
  const openingA = a.holdings.windowDispatch('terminal.open', { vm: 'vm' });
  const openingB = b.holdings.windowDispatch('terminal.open', { vm: 'vm' });
  events.remove(a.window);
  void a.holdings.release();
  a.answer();
  await openingA;
  events.route(output('t1', 'closing'));
  assert.equal((events as unknown as { held: Map<string, unknown> }).held.size, 0, 'nothing held for t1');
  b.answer();
  await openingB;
  assert.deepEqual(b.delivered, []);
});
