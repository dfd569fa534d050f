import * as z from 'zod';
import { Empty, type ApiResponse } from './common.js';
import {
  EnrollCancel,
  EnrollConfirm,
  EnrollDone,
  EnrollPasswordSet,
  EnrollSetPassword,
  EnrollStart,
  EnrollStarted,
} from './enrollment.js';
import { DoctorResult, DoctorRun } from './doctor.js';
import type { ApiEvent } from './events.js';
import { ForwardAdd, ForwardList, ForwardRemove, ForwardView } from './forwards.js';
import { LoginDone, LoginState, LoginSubmit } from './login.js';
import { RdpLaunch, RdpLaunched } from './rdp.js';
import { SetLogLevel, SettingsView } from './settings.js';
import {
  TerminalAck,
  TerminalClose,
  TerminalInput,
  TerminalOpen,
  TerminalOpened,
  TerminalResize,
} from './terminals.js';
import { VmList } from './vms.js';
import type { ApiRequestName, FunctionName } from './request-names.js';

export * from './common.js';
export * from './doctor.js';
export * from './enrollment.js';
export * from './events.js';
export * from './forwards.js';
export * from './login.js';
export * from './rdp.js';
export * from './settings.js';
export * from './terminals.js';
export * from './vms.js';
export * from './request-names.js';

const request = <P extends z.ZodType, R extends z.ZodType>(params: P, result: R) => ({ params, result });

/**
 * The Connect API: every request the UI makes, by name, with the schema its parameters must meet
 * (checked at every boundary: IPC, WebSocket) and the schema of what it resolves with. One
 * service implements it (service/connect-service.ts); Electron's preload and the browser-mode
 * client expose it as `window.airlock` with one named function per request.
 */
export const API_REQUESTS = {
  'app.state': request(Empty, z.object({ login: LoginState })),
  'settings.get': request(Empty, SettingsView),
  'settings.setLogLevel': request(SetLogLevel, Empty),
  'keychain.forget': request(Empty, z.object({ removed: z.boolean() })),

  'enroll.start': request(EnrollStart, EnrollStarted),
  'enroll.setPassword': request(EnrollSetPassword, EnrollPasswordSet),
  'enroll.confirm': request(EnrollConfirm, EnrollDone),
  'enroll.cancel': request(EnrollCancel, Empty),

  'login.state': request(Empty, LoginState),
  'login.submit': request(LoginSubmit, LoginDone),
  'login.cancel': request(Empty, Empty),
  'login.logout': request(Empty, Empty),

  'vms.list': request(Empty, VmList),
  'vms.watch': request(Empty, VmList),
  'vms.unwatch': request(Empty, Empty),

  'terminal.open': request(TerminalOpen, TerminalOpened),
  'terminal.input': request(TerminalInput, Empty),
  'terminal.resize': request(TerminalResize, Empty),
  'terminal.ack': request(TerminalAck, Empty),
  'terminal.close': request(TerminalClose, Empty),

  'forward.add': request(ForwardAdd, ForwardView),
  'forward.remove': request(ForwardRemove, Empty),
  'forward.list': request(Empty, ForwardList),

  'rdp.launch': request(RdpLaunch, RdpLaunched),

  'doctor.run': request(DoctorRun, DoctorResult),
} as const satisfies Record<ApiRequestName, { params: z.ZodType; result: z.ZodType }>;

export type ApiParams<N extends ApiRequestName> = z.input<(typeof API_REQUESTS)[N]['params']>;
export type ApiResult<N extends ApiRequestName> = z.infer<(typeof API_REQUESTS)[N]['result']>;

/**
 * `window.airlock`: one named function per request, and one event subscription. The same shape in
 * Electron (preload, over IPC) and in browser mode (over the host's WebSocket).
 */
export type AirlockApi = {
  [N in ApiRequestName as FunctionName<N>]: (params: ApiParams<N>) => Promise<ApiResponse<ApiResult<N>>>;
} & {
  /** Calls `listener` with every event; returns the unsubscribe function. */
  onEvent(listener: (event: ApiEvent) => void): () => void;
};
