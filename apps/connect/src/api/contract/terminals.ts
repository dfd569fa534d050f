import * as z from 'zod';
import { VmId } from '@airlock/shared/schemas';
import { ApiFailure, HandleId, TerminalSize } from './common.js';

export const TerminalOpen = z.object({ vm: VmId, ...TerminalSize }).strict();
export const TerminalOpened = z.object({ terminalId: HandleId, vm: VmId, sessionId: z.string() });
export type TerminalOpened = z.infer<typeof TerminalOpened>;

/** Keystrokes and pastes as xterm gives them (UTF-8 text); a paste larger than 64 KiB is sent in parts. */
export const TerminalInput = z.object({ terminalId: HandleId, data: z.string().max(64 * 1024) }).strict();
export const TerminalResize = z.object({ terminalId: HandleId, ...TerminalSize }).strict();
/** Output the renderer has drawn (xterm's write callback): lets the service read more. */
export const TerminalAck = z
  .object({
    terminalId: HandleId,
    bytes: z
      .number()
      .int()
      .min(0)
      .max(64 * 1024 * 1024),
  })
  .strict();
export const TerminalClose = z.object({ terminalId: HandleId }).strict();

/** How a terminal ended: the tab says so and offers to reconnect. */
export const TerminalEndView = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('exited'), exitStatus: z.number().int() }),
  z.object({ kind: z.literal('signal'), signal: z.string() }),
  z.object({ kind: z.literal('session_lost'), failure: ApiFailure }),
  z.object({ kind: z.literal('revoked'), failure: ApiFailure }),
  z.object({ kind: z.literal('closed') }),
]);
export type TerminalEndView = z.infer<typeof TerminalEndView>;

/**
 * The connection under a session (a terminal's, a forward's): a drop is not the end — it is
 * `reconnecting` until `resumed` (nothing lost) or `lost` (then the session ends with the reason).
 */
export const ConnectionView = z.discriminatedUnion('state', [
  z.object({ state: z.literal('connected') }),
  z.object({
    state: z.literal('reconnecting'),
    attempt: z.number().int(),
    reason: z.string(),
    downMs: z.number(),
    windowMs: z.number(),
  }),
  z.object({ state: z.literal('resumed'), attempts: z.number().int(), downMs: z.number() }),
  z.object({ state: z.literal('lost'), reason: z.string() }),
]);
export type ConnectionView = z.infer<typeof ConnectionView>;
