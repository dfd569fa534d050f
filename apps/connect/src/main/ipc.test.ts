import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Dispatch } from '../api/dispatch.js';
import { pageScopedDispatch } from './ipc.js';
import { FakeWebContents } from './test-support/fake-electron.js';

test("a reload of the window's page closes the terminals the old page opened, and the new page cannot use them", async () => {
  const calls: Array<[unknown, unknown]> = [];
  const service: Dispatch = async (name, params) => {
    calls.push([name, params]);
    return name === 'terminal.open'
      ? { ok: true, value: { terminalId: 'term-1', vm: 'vm', sessionId: 's' } }
      : { ok: true, value: {} };
  };
  const contents = new FakeWebContents();
  const dispatch = pageScopedDispatch(service, contents);
  contents.emit('did-navigate'); // the first page
  await dispatch('terminal.open', { vm: 'vm', cols: 80, rows: 24 });
  await dispatch('vms.watch', {});
  calls.length = 0;
  contents.emit('did-navigate'); // View › Reload
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(calls, [
    ['terminal.close', { terminalId: 'term-1' }],
    ['vms.unwatch', {}],
  ]);
  calls.length = 0;
  const typed = await dispatch('terminal.input', { terminalId: 'term-1', data: 'ls\r' });
  assert.equal(!typed.ok && typed.error.code, 'not_found');
  assert.deepEqual(calls, []);
});
