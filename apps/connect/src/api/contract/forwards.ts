import * as z from 'zod';
import { Port, VmId } from '@airlock/shared/schemas';
import { ApiFailure, HandleId, LocalPort } from './common.js';

export const ForwardAdd = z
  .object({
    vm: VmId,
    remotePort: Port,
    /** Omitted or 0: the remote port's number when it is free here (and ≥ 1024), else any free port. */
    localPort: LocalPort.optional(),
  })
  .strict();
export type ForwardAdd = z.infer<typeof ForwardAdd>;

export const ForwardState = z.enum(['listening', 'reconnecting', 'stopped']);

export const ForwardView = z.object({
  forwardId: HandleId,
  vm: VmId,
  remotePort: Port,
  /** The port's well-known name ("Jupyter"), or null. */
  name: z.string().nullable(),
  localPort: Port,
  /** Always `127.0.0.1:<localPort>`: forwards listen on loopback only. */
  localAddress: z.string(),
  /** `http://127.0.0.1:<localPort>/` for a web port, else null. */
  url: z.string().nullable(),
  state: ForwardState,
  /** The session carrying it now (changes when it reconnects). */
  sessionId: z.string(),
  connections: z.number().int().nonnegative(),
  /** Bytes from the VM to this computer, and back, since the forward started. */
  bytesIn: z.number().nonnegative(),
  bytesOut: z.number().nonnegative(),
  /** Why it is reconnecting or stopped. */
  failure: ApiFailure.optional(),
});
export type ForwardView = z.infer<typeof ForwardView>;

export const ForwardRemove = z.object({ forwardId: HandleId }).strict();
export const ForwardList = z.object({ forwards: z.array(ForwardView) });
