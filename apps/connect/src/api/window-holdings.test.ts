import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ApiEvent } from './contract/index.js';
import type { Dispatch } from './dispatch.js';
import { WindowHoldings } from './window-holdings.js';

/** A service that opens terminals t1, t2, … and records every call. */
function fakeService() {
  const calls: Array<[string, unknown]> = [];
  let next = 1;
  let answerOpen: (() => void) | undefined;
  const dispatch: Dispatch = async (name, params) => {
    calls.push([String(name), params]);
    if (name === 'terminal.open') {
      const terminalId = `t${next++}`;
      if (answerOpen === undefined) return { ok: true, value: { terminalId, vm: 'vm', sessionId: 's' } };
      await new Promise<void>((r) => (answerOpen = r));
      return { ok: true, value: { terminalId, vm: 'vm', sessionId: 's' } };
    }
    if (name === 'terminal.close' && (params as { terminalId: string }).terminalId === 'missing')
      return { ok: false, error: { code: 'not_found', message: 'no such terminal', action: 'none' } };
    return { ok: true, value: {} };
  };
  return {
    dispatch,
    calls,
    /** The next terminal.open waits until `answer()`. */
    holdNextOpen: () => (answerOpen = () => {}),
    answer: () => answerOpen?.(),
  };
}

const output = (terminalId: string): ApiEvent => ({ type: 'terminal.output', terminalId, data: new Uint8Array(1) });

test('a window that goes away closes the terminals it left open and gives back its watches', async () => {
  const service = fakeService();
  const w = new WindowHoldings(service.dispatch);
  await w.windowDispatch('terminal.open', { vm: 'vm' });
  await w.windowDispatch('terminal.open', { vm: 'vm' });
  await w.windowDispatch('terminal.open', { vm: 'vm' });
  await w.windowDispatch('terminal.close', { terminalId: 't2' });
  w.observe({ type: 'terminal.ended', terminalId: 't3', end: { kind: 'exited', exitStatus: 0 } });
  await w.windowDispatch('vms.watch', {});
  await w.windowDispatch('vms.watch', {});
  await w.windowDispatch('vms.unwatch', {});
  service.calls.length = 0;
  await w.release();
  assert.deepEqual(service.calls, [
    ['terminal.close', { terminalId: 't1' }],
    ['vms.unwatch', {}],
  ]);
  service.calls.length = 0;
  await w.release();
  assert.deepEqual(service.calls, [], 'released once');
});

test('a terminal whose opening is answered after the window went away is closed at once', async () => {
  const service = fakeService();
  const w = new WindowHoldings(service.dispatch);
  service.holdNextOpen();
  const opening = w.windowDispatch('terminal.open', { vm: 'vm' });
  await new Promise((r) => setImmediate(r));
  await w.release();
  service.answer();
  await opening;
  assert.deepEqual(service.calls.at(-1), ['terminal.close', { terminalId: 't1' }]);
});

test('a window owns the events of the terminals it opened, and no others', async () => {
  const service = fakeService();
  const a = new WindowHoldings(service.dispatch);
  const b = new WindowHoldings(service.dispatch);
  await a.windowDispatch('terminal.open', { vm: 'vm' });
  assert.equal(a.owns(output('t1')), true);
  assert.equal(b.owns(output('t1')), false);
  assert.equal(a.owns({ type: 'vms.changed', vms: [] }), false, 'not a terminal event');
  const failed = await a.windowDispatch('terminal.close', { terminalId: 'missing' });
  assert.equal(failed.ok, false, 'a failure is passed on as it is');
});

test("a window acts only on its own terminals: another's id is answered as unknown, and never reaches the service", async () => {
  const service = fakeService();
  const a = new WindowHoldings(service.dispatch);
  const b = new WindowHoldings(service.dispatch);
  await a.windowDispatch('terminal.open', { vm: 'vm' });
  service.calls.length = 0;
  for (const name of ['terminal.input', 'terminal.resize', 'terminal.ack', 'terminal.close']) {
    const r = await b.windowDispatch(name, { terminalId: 't1', data: 'rm -rf ~\r', cols: 1, rows: 1, bytes: 1 });
    assert.equal(!r.ok && r.error.code, 'not_found', name);
  }
  assert.deepEqual(service.calls, []);
  assert.equal((await a.windowDispatch('terminal.input', { terminalId: 't1', data: 'ls\r' })).ok, true);
  assert.deepEqual(service.calls, [['terminal.input', { terminalId: 't1', data: 'ls\r' }]]);
});

test('a window gives back only watches it holds; one asked back while still being answered is given back when it is', async () => {
  const service = fakeService();
  const w = new WindowHoldings(service.dispatch);
  assert.equal((await w.windowDispatch('vms.unwatch', {})).ok, true);
  assert.deepEqual(service.calls, [], 'no watch held: nothing to give back');
  const watching = w.windowDispatch('vms.watch', {});
  await w.windowDispatch('vms.unwatch', {});
  assert.deepEqual(service.calls, [['vms.watch', {}]], 'the watch is still being answered');
  await watching;
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(service.calls, [
    ['vms.watch', {}],
    ['vms.unwatch', {}],
  ]);
  service.calls.length = 0;
  await w.release();
  assert.deepEqual(service.calls, [], 'nothing left to give back');
});

test('a watch that fails while it is owed back does not pass that debt on to the next watch', async () => {
  const calls: string[] = [];
  let failNext = true;
  let answer: () => void = () => {};
  const dispatch: Dispatch = async (name) => {
    calls.push(String(name));
    if (name === 'vms.watch' && failNext) {
      failNext = false;
      await new Promise<void>((r) => (answer = r));
      return { ok: false, error: { code: 'relay_unreachable', message: 'no relay', action: 'check_relay' } };
    }
    return { ok: true, value: {} };
  };
  const w = new WindowHoldings(dispatch);
  const failing = w.windowDispatch('vms.watch', {});
  await w.windowDispatch('vms.unwatch', {});
  answer();
  await failing;
  await w.windowDispatch('vms.watch', {});
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(calls, ['vms.watch', 'vms.watch'], 'the second watch stands');
});
