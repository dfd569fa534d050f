// The API's request names alone (no schemas, no zod), so the renderer's bridges stay small.

export const API_REQUEST_NAMES = [
  'app.state',
  'settings.get',
  'settings.setLogLevel',
  'keychain.forget',
  'enroll.start',
  'enroll.setPassword',
  'enroll.confirm',
  'enroll.cancel',
  'login.state',
  'login.submit',
  'login.cancel',
  'login.logout',
  'vms.list',
  'vms.watch',
  'vms.unwatch',
  'terminal.open',
  'terminal.input',
  'terminal.resize',
  'terminal.ack',
  'terminal.close',
  'forward.add',
  'forward.remove',
  'forward.list',
  'rdp.launch',
  'doctor.run',
] as const;
export type ApiRequestName = (typeof API_REQUEST_NAMES)[number];

/** `enroll.setPassword` → `enrollSetPassword`: the name of its function on `window.airlock`. */
export type FunctionName<N extends string> = N extends `${infer A}.${infer B}` ? `${A}${Capitalize<B>}` : N;
export function functionName<N extends ApiRequestName>(name: N): FunctionName<N> {
  const [a, b] = name.split('.') as [string, string];
  return `${a}${b.charAt(0).toUpperCase()}${b.slice(1)}` as FunctionName<N>;
}

/** Electron IPC: each request on a channel of its own, events on one. */
export const ipcRequestChannel = (name: ApiRequestName) => `airlock:${name}`;
export const IPC_EVENT_CHANNEL = 'airlock:event';
