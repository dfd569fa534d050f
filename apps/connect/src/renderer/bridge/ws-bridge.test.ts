import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ApiEvent } from '../../api/contract/index.js';
import { decodeWire, encodeWire } from '../../api/transport/wire.js';
import { connectOverWebSocket, type BrowserEnvironment } from './ws-bridge.js';

/** The host's end of the page's WebSocket, answering each request as `answer` says. */
class FakeSocket extends EventTarget {
  static last: FakeSocket;
  readonly OPEN = 1;
  readyState = 0;
  answer: (request: string, params: unknown) => unknown = () => ({ ok: true, value: {} });

  constructor() {
    super();
    FakeSocket.last = this;
    queueMicrotask(() => {
      this.readyState = 1;
      this.dispatchEvent(new Event('open'));
    });
  }

  send(text: string): void {
    const { id, request, params } = decodeWire(text) as { id: number; request: string; params: unknown };
    queueMicrotask(() => this.receive({ id, response: this.answer(request, params) }));
  }

  receive(message: unknown): void {
    const event = new Event('message') as Event & { data: string };
    event.data = encodeWire(message);
    this.dispatchEvent(event);
  }

  close(): void {
    this.readyState = 3;
    this.dispatchEvent(new Event('close'));
  }
}

function bridge() {
  const env = {
    location: { hash: '#secret=abc', host: '127.0.0.1:1', pathname: '/', search: '' },
    sessionStorage: { getItem: () => null, setItem: () => {} },
    history: { replaceState: () => {} },
    WebSocket: FakeSocket,
  } as unknown as BrowserEnvironment;
  const api = connectOverWebSocket(env);
  const socket = FakeSocket.last;
  socket.answer = (request, params) =>
    request === 'terminal.open'
      ? { ok: true, value: { terminalId: `term-${(params as { vm: string }).vm}`, vm: 'vm', sessionId: 's' } }
      : { ok: true, value: {} };
  const events: ApiEvent[] = [];
  api.onEvent((e) => events.push(e));
  return { api, socket, events };
}

test('when the host goes away, every terminal still open through the page ends, saying why', async () => {
  const { api, socket, events } = bridge();
  await api.terminalOpen({ vm: 'a', cols: 80, rows: 24 });
  await api.terminalOpen({ vm: 'b', cols: 80, rows: 24 });
  await api.terminalOpen({ vm: 'c', cols: 80, rows: 24 });
  await api.terminalClose({ terminalId: 'term-b' });
  socket.receive({ event: { type: 'terminal.ended', terminalId: 'term-c', end: { kind: 'exited', exitStatus: 0 } } });
  events.length = 0;
  socket.close();
  assert.deepEqual(
    events.map((e) => e.type === 'terminal.ended' && [e.terminalId, e.end.kind]),
    [['term-a', 'session_lost']],
  );
  const after = await api.appState({});
  assert.equal(after.ok, false);
  assert.match(!after.ok ? after.error.message : '', /start it again and open the new address/);
});

test('a terminal that ended before the answer that opened it arrived is not ended again when the host goes', async () => {
  const { api, socket, events } = bridge();
  const answer = socket.answer;
  socket.answer = (request, params) => {
    // The host sends what the terminal did before its answer: here, all of its life.
    if (request === 'terminal.open')
      socket.receive({
        event: { type: 'terminal.ended', terminalId: 'term-x', end: { kind: 'exited', exitStatus: 0 } },
      });
    return answer(request, params);
  };
  await api.terminalOpen({ vm: 'x', cols: 80, rows: 24 });
  events.length = 0;
  socket.close();
  assert.deepEqual(events, []);
});
