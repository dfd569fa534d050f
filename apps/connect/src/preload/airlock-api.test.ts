import assert from 'node:assert/strict';
import { test } from 'node:test';
import { API_REQUEST_NAMES, functionName, IPC_EVENT_CHANNEL } from '../api/contract/request-names.js';
import { airlockApi, type IpcRendererLike } from './airlock-api.js';

function fakeIpc() {
  const invoked: unknown[][] = [];
  const listeners = new Map<string, Set<(event: unknown, ...args: unknown[]) => void>>();
  const ipc: IpcRendererLike = {
    invoke: async (...args) => (invoked.push(args), { ok: true, value: {} }),
    on: (channel, l) => listeners.set(channel, (listeners.get(channel) ?? new Set()).add(l)),
    removeListener: (channel, l) => listeners.get(channel)?.delete(l),
  };
  return { ipc, invoked, listeners };
}

test('window.airlock is named functions only: one per request, plus onEvent; no IPC object', () => {
  const { ipc } = fakeIpc();
  const api = airlockApi(ipc);
  assert.deepEqual(Object.keys(api).sort(), [...API_REQUEST_NAMES.map(functionName), 'onEvent'].sort());
  for (const value of Object.values(api)) assert.equal(typeof value, 'function');
  assert.ok(!Object.values(api).includes(ipc.invoke as never));
});

test('each function sends exactly its one argument on its own channel', async () => {
  const { ipc, invoked } = fakeIpc();
  const api = airlockApi(ipc) as Record<string, (p: unknown, ...rest: unknown[]) => Promise<unknown>>;
  await api.terminalInput!({ terminalId: 'term-x', data: 'ls\n' }, 'sneaky second argument');
  await api.appState!({});
  assert.deepEqual(invoked, [
    ['airlock:terminal.input', { terminalId: 'term-x', data: 'ls\n' }],
    ['airlock:app.state', {}],
  ]);
});

test('onEvent hands over the event alone (never the IPC event and its sender), and unsubscribes', () => {
  const { ipc, listeners } = fakeIpc();
  const api = airlockApi(ipc) as { onEvent: (l: (...args: unknown[]) => void) => () => void };
  const got: unknown[][] = [];
  const off = api.onEvent((...args) => got.push(args));
  const relay = [...listeners.get(IPC_EVENT_CHANNEL)!][0]!;
  relay({ sender: ipc, ports: [] }, { type: 'login.changed', login: { state: 'not_enrolled' } });
  assert.deepEqual(got, [[{ type: 'login.changed', login: { state: 'not_enrolled' } }]]);
  off();
  assert.equal(listeners.get(IPC_EVENT_CHANNEL)!.size, 0);
});
