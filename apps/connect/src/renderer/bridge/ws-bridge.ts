import type { AirlockApi, ApiEvent, ApiFailure, ApiResponse } from '../../api/contract/index.js';
import { API_REQUEST_NAMES, functionName } from '../../api/contract/request-names.js';
import {
  decodeWire,
  encodeWire,
  SECRET_PROTOCOL_PREFIX,
  WIRE_PATH,
  WIRE_PROTOCOL,
  type WireMessage,
} from '../../api/transport/wire.js';

/** Where the launch secret is kept for reloads of this tab (never in the URL once read). */
const SECRET_KEY = 'airlock.secret';

export interface BrowserEnvironment {
  location: Pick<Location, 'hash' | 'host' | 'pathname' | 'search'>;
  sessionStorage: Pick<Storage, 'getItem' | 'setItem'>;
  history: Pick<History, 'replaceState'>;
  WebSocket: new (url: string, protocols: string[]) => WebSocket;
}

const disconnected: ApiFailure = {
  code: 'disconnected',
  message: 'the connection to Airlock ended (was it stopped?); start it again and open the new address',
  action: 'none',
};

/**
 * `window.airlock` in browser mode: the same functions as Electron's preload, over the host's
 * WebSocket. The launch secret comes in the URL fragment (which browsers never send); it is taken
 * out of the address bar at once and kept in this tab's session storage for reloads.
 */
export function connectOverWebSocket(env: BrowserEnvironment): AirlockApi {
  const fromFragment = /^#secret=([A-Za-z0-9_-]+)$/.exec(env.location.hash)?.[1];
  if (fromFragment) {
    env.sessionStorage.setItem(SECRET_KEY, fromFragment);
    env.history.replaceState(null, '', env.location.pathname + env.location.search);
  }
  const secret = fromFragment ?? env.sessionStorage.getItem(SECRET_KEY) ?? '';
  const ws = new env.WebSocket(`ws://${env.location.host}${WIRE_PATH}`, [
    WIRE_PROTOCOL,
    SECRET_PROTOCOL_PREFIX + secret,
  ]);
  const listeners = new Set<(e: ApiEvent) => void>();
  const pending = new Map<number, (r: ApiResponse<unknown>) => void>();
  const queued: string[] = [];
  /** Terminals open through this page: when the host goes, their tabs must say so. */
  const terminals = new Set<string>();
  /** Terminals that ended before the answer that opened them arrived (the host sends what came first). */
  const endedEarly = new Set<string>();
  let nextId = 1;
  let closed = false;
  const emit = (e: ApiEvent) => {
    if (e.type === 'terminal.ended' && !terminals.delete(e.terminalId)) {
      endedEarly.add(e.terminalId);
      // Ids of answers that never came (the request failed): a bounded memory of them.
      if (endedEarly.size > 64) endedEarly.delete(endedEarly.values().next().value!);
    }
    for (const l of [...listeners]) l(e);
  };

  ws.addEventListener('open', () => {
    for (const text of queued.splice(0)) ws.send(text);
  });
  ws.addEventListener('message', (m: MessageEvent<string>) => {
    const msg = decodeWire(m.data) as WireMessage;
    if ('event' in msg) emit(msg.event);
    else {
      pending.get(msg.id)?.(msg.response);
      pending.delete(msg.id);
    }
  });
  ws.addEventListener('close', () => {
    closed = true;
    for (const resolve of pending.values()) resolve({ ok: false, error: disconnected });
    pending.clear();
    // The host's end is the end of every session it held: a tab that went on saying "connected"
    // would take keystrokes that go nowhere.
    for (const terminalId of [...terminals])
      emit({ type: 'terminal.ended', terminalId, end: { kind: 'session_lost', failure: disconnected } });
  });

  const send = (request: string, params: unknown): Promise<ApiResponse<unknown>> => {
    if (closed) return Promise.resolve({ ok: false, error: disconnected });
    const id = nextId++;
    const text = encodeWire({ id, request, params });
    return new Promise<ApiResponse<unknown>>((resolve) => {
      pending.set(id, resolve);
      if (ws.readyState === ws.OPEN) ws.send(text);
      else queued.push(text);
    }).then((response) => {
      if (response.ok && request === 'terminal.open') {
        const { terminalId } = response.value as { terminalId: string };
        if (!endedEarly.delete(terminalId)) terminals.add(terminalId);
      }
      if (request === 'terminal.close') terminals.delete((params as { terminalId: string }).terminalId);
      return response;
    });
  };

  const api: Record<string, unknown> = {
    onEvent(listener: (e: ApiEvent) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  for (const name of API_REQUEST_NAMES) api[functionName(name)] = (params: unknown) => send(name, params);
  return api as AirlockApi;
}
