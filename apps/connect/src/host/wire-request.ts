import * as z from 'zod';

/** What a browser-mode client may send: a request id, a request name and its parameters (checked later). */
export const WireRequest = z
  .object({ id: z.number().int().nonnegative(), request: z.string().max(64), params: z.unknown().optional() })
  .strict();
