import * as z from 'zod';
import { VmId } from '@airlock/shared/schemas';
import { LocalPort } from './common.js';
import { ForwardView } from './forwards.js';

export const RdpLaunch = z.object({ vm: VmId, localPort: LocalPort.optional() }).strict();

export const RdpClientView = z.object({
  /** "Remote Desktop Connection (mstsc)", "Windows App", "FreeRDP (xfreerdp)", "Remmina". */
  name: z.string(),
  /** The command line that was (or would be) run. */
  command: z.array(z.string()),
});

export const RdpLaunched = z.object({
  forward: ForwardView,
  /** The generated `.rdp` file (mode 0600): offer it when no client could be started. */
  rdpFile: z.object({ path: z.string(), content: z.string() }),
  client: RdpClientView.nullable(),
  launched: z.boolean(),
  /** When no client was found: which to install, and where from. */
  install: z.object({ name: z.string(), url: z.string() }).optional(),
  /** Why the client did not start, when it was found but failed. */
  launchError: z.string().optional(),
});
export type RdpLaunched = z.infer<typeof RdpLaunched>;
