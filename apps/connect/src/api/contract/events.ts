import * as z from 'zod';
import { ApiFailure, HandleId } from './common.js';
import { ForwardView } from './forwards.js';
import { LoginState } from './login.js';
import { ConnectionView, TerminalEndView } from './terminals.js';
import { VmView } from './vms.js';

/**
 * Everything the service tells the UI without being asked: streams and state changes. The UI
 * never polls; it subscribes once (`window.airlock.onEvent`).
 */
export const ApiEvent = z.discriminatedUnion('type', [
  /** After every login, logout, expiry. */
  z.object({ type: z.literal('login.changed'), login: LoginState }),
  /** Five minutes before the login ends: offer "renew now" so nothing is cut off. */
  z.object({ type: z.literal('login.expiring'), expiresAt: z.string() }),
  /**
   * Something needs a new login (expired or refused); it waits — terminals and forwards stay —
   * until `login.submit` succeeds (then it carries on) or `login.cancel`. Several at once: one event.
   */
  z.object({
    type: z.literal('login.required'),
    reason: z.enum(['absent', 'expired', 'refused']),
    message: z.string(),
  }),
  /** The VM list changed (online state, ports, grants), while `vms.watch` is on. */
  z.object({ type: z.literal('vms.changed'), vms: z.array(VmView) }),
  z.object({
    type: z.literal('terminal.output'),
    terminalId: HandleId,
    data: z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'must be bytes'),
  }),
  z.object({ type: z.literal('terminal.ended'), terminalId: HandleId, end: TerminalEndView }),
  /** The terminal's connection dropped, is being resumed, was resumed or lost (the tab says so). */
  z.object({ type: z.literal('terminal.connection'), terminalId: HandleId, connection: ConnectionView }),
  /** State, connections or bytes changed (at most once a second for bytes). */
  z.object({ type: z.literal('forward.changed'), forward: ForwardView }),
  z.object({ type: z.literal('forward.removed'), forwardId: HandleId }),
  /** A connection through the forward could not be carried (once per burst of the same failure). */
  z.object({
    type: z.literal('forward.connection-failed'),
    forwardId: HandleId,
    failure: ApiFailure,
    more: z.number().int(),
  }),
]);
export type ApiEvent = z.infer<typeof ApiEvent>;
