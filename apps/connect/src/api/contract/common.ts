import * as z from 'zod';
import { NEXT_ACTIONS } from '../../core/next-actions.js';

// The Connect API's building blocks. Everything under contract/ is browser-safe (zod and
// @airlock/shared/schemas only): the renderer imports it to type `window.airlock`.

export const NextAction = z.enum(NEXT_ACTIONS);
export type NextAction = z.infer<typeof NextAction>;

/**
 * Every failure the API reports: what happened (`code`, `message` — the CLI's own words), what to
 * do next (`action`, a code each front end words itself), and the session id where there is one.
 */
export const ApiFailure = z.object({
  code: z.string(),
  message: z.string(),
  action: NextAction,
  sessionId: z.string().optional(),
  /** The same request may be tried again as is (a wrong authenticator code during enrollment). */
  retryable: z.boolean().optional(),
  /** Wait this long before trying again (the relay's rate limit, the next authenticator code). */
  retryAfterSeconds: z.number().int().nonnegative().optional(),
});
export type ApiFailure = z.infer<typeof ApiFailure>;

/** What every request resolves with: never a rejection for an expected failure. */
export type ApiResponse<T> = { ok: true; value: T } | { ok: false; error: ApiFailure };

export const Empty = z.object({}).strict();
export type Empty = z.infer<typeof Empty>;

/** Ids the service hands out for terminals, forwards and enrollments. */
export const HandleId = z.string().regex(/^[a-z]+-[A-Za-z0-9_-]{8,64}$/, 'not an id this app handed out');

export const LocalPort = z.number().int().min(0).max(65535);
export const TerminalSize = { cols: z.number().int().min(1).max(4096), rows: z.number().int().min(1).max(4096) };
