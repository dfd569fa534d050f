// A forward through the desktop app's service, as the app's Forwards screen makes one: `airlock ui`
// started for it, asked over its WebSocket API the way the page asks it.
import { once } from 'node:events';
import { WebSocket } from 'ws';
import type { ApiResponse, ApiResult } from '../../apps/connect/src/api/contract/index.js';
import {
  decodeWire,
  encodeWire,
  SECRET_PROTOCOL_PREFIX,
  WIRE_PATH,
  WIRE_PROTOCOL,
  type WireMessage,
} from '../../apps/connect/src/api/transport/wire.js';
import { startUi } from '../../e2e/src/ui-process.js';

export interface AppForward {
  /** The forward's local port. */
  port: number;
  /** The `airlock ui` process, which carries the forward's bytes. */
  pid: number | undefined;
  stop(): Promise<void>;
}

/** `home` must be logged in and `vm` online with `remotePort` granted. */
export async function startAppForward(home: string, vm: string, remotePort: number): Promise<AppForward> {
  const ui = await startUi({ AIRLOCK_HOME: home, AIRLOCK_LOG_LEVEL: 'warn' });
  try {
    const address = new URL(ui.url);
    const secret = /^#secret=(.+)$/.exec(address.hash)?.[1] ?? '';
    // The host lets in only its own page's origin with this launch's secret (request-guard.ts).
    const ws = new WebSocket(`ws://${address.host}${WIRE_PATH}`, [WIRE_PROTOCOL, SECRET_PROTOCOL_PREFIX + secret], {
      origin: address.origin,
    });
    await once(ws, 'open');
    const answered = new Promise<ApiResponse<ApiResult<'forward.add'>>>((resolve) =>
      ws.on('message', (data) => {
        const msg = decodeWire(String(data)) as WireMessage;
        if ('id' in msg && msg.id === 1) resolve(msg.response as ApiResponse<ApiResult<'forward.add'>>);
      }),
    );
    ws.send(encodeWire({ id: 1, request: 'forward.add', params: { vm, remotePort } }));
    const added = await answered;
    // The forward belongs to the service, not to this connection: it stays after the socket closes.
    ws.close();
    if (!added.ok) throw new Error(`the app's service refused the forward: ${added.error.message}`);
    return { port: added.value.localPort, pid: ui.child.pid, stop: () => ui.stop() };
  } catch (e) {
    await ui.stop();
    throw e;
  }
}
