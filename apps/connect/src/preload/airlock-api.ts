import {
  API_REQUEST_NAMES,
  functionName,
  IPC_EVENT_CHANNEL,
  ipcRequestChannel,
} from '../api/contract/request-names.js';

/** The part of ipcRenderer the preload uses (tests pass a fake). */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

/**
 * `window.airlock` in Electron: one named function per API request, each sending exactly its one
 * argument on the request's own channel, and `onEvent`, which hands the renderer the event and
 * nothing of IPC (never the IpcRendererEvent, whose `sender` is ipcRenderer itself).
 */
export function airlockApi(ipc: IpcRendererLike): Record<string, (...args: never[]) => unknown> {
  const api: Record<string, (...args: never[]) => unknown> = {};
  for (const name of API_REQUEST_NAMES) {
    const channel = ipcRequestChannel(name);
    api[functionName(name)] = (params: unknown) => ipc.invoke(channel, params);
  }
  api.onEvent = (listener: (event: unknown) => void) => {
    const relay = (_event: unknown, payload: unknown) => listener(payload);
    ipc.on(IPC_EVENT_CHANNEL, relay);
    return () => void ipc.removeListener(IPC_EVENT_CHANNEL, relay);
  };
  return api;
}
