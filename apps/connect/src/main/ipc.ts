import type { Dispatch } from '../api/dispatch.js';
import { API_REQUEST_NAMES, IPC_EVENT_CHANNEL, ipcRequestChannel } from '../api/contract/request-names.js';
import type { ApiEvent, ApiResponse } from '../api/contract/index.js';
import { failed, failure } from '../api/service/failures.js';
import { WindowHoldings } from '../api/window-holdings.js';
import { isAppUrl } from './hardening.js';
import type { ElectronSeam, WebContentsSeam } from './seam.js';

/**
 * The Connect API over IPC: a handler per request that answers only the app's own page, takes
 * exactly one argument, and passes it to the dispatch, which checks it against the contract.
 */
export function wireIpc(ipcMain: ElectronSeam['ipcMain'], dispatch: Dispatch): void {
  for (const name of API_REQUEST_NAMES)
    ipcMain.handle(ipcRequestChannel(name), async (event, ...args): Promise<ApiResponse<unknown>> => {
      if (!event.senderFrame || !isAppUrl(event.senderFrame.url))
        return failed(failure('untrusted_sender', 'only the app itself may call the Connect API'));
      if (args.length !== 1) return failed(failure('bad_request', `${name}: takes one argument`));
      return dispatch(name, args[0]);
    });
}

/**
 * The dispatch for what the page loaded in `contents` opens: when a new document replaces it (a
 * reload: Electron's default menu keeps View › Reload), the terminals the previous page opened
 * are closed and its VM-list watches given back — a shell nobody can see any more is access the
 * person thinks they gave up — and the new page cannot act on them.
 *
 * Why `did-navigate` comes before the new page's first request (read in Electron's and Chromium's
 * sources at stop 33, not documented by either): Electron emits it synchronously while the browser
 * handles the renderer's commit acknowledgement, and the renderer IPC interface is associated with
 * the frame's channel, which keeps messages in order across interfaces; Blink sends that
 * acknowledgement before it creates the new document's script context, where the preload runs.
 * A message the old page sends while it unloads after a frame swap has no live `senderFrame` and is
 * refused by wireIpc.
 */
export function pageScopedDispatch(dispatch: Dispatch, contents: WebContentsSeam): Dispatch {
  let page = new WindowHoldings(dispatch);
  contents.on('did-navigate', () => {
    const gone = page;
    page = new WindowHoldings(dispatch);
    void gone.release();
  });
  return (name, params) => page.windowDispatch(name, params);
}

/** Sends the service's events to the window while it lives. */
export function forwardEvents(
  onEvent: (l: (e: ApiEvent) => void) => () => void,
  contents: WebContentsSeam,
): () => void {
  const off = onEvent((e) => {
    if (contents.isDestroyed()) return off();
    contents.send(IPC_EVENT_CHANNEL, e);
  });
  return off;
}
