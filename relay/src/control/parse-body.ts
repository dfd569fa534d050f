import type { Request } from 'express';
import type * as z from 'zod';
import { describeZodError } from '@airlock/shared';
import { HttpError } from './http-error.js';

/** Validates a request body against its shared schema; a 400 names the field that is wrong. */
export function parseBody<T>(schema: z.ZodType<T>, req: Request): T {
  const r = schema.safeParse(req.body ?? undefined);
  if (!r.success) throw new HttpError(400, 'bad_request', describeZodError(r.error));
  return r.data;
}
