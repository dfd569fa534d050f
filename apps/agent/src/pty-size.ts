import { err, ok, type Result } from '@airlock/shared';

/**
 * Bounds for the terminal a client may ask for (`pty-req`, `window-change`). SSH carries them as
 * uint32, the kernel's winsize as uint16; no real screen comes near 4096 columns or rows, so a
 * larger value is a bug or an attack. It is refused, not clamped: a clamped terminal would be
 * silently smaller than the one the client draws, and full-screen programs would garble.
 */
export const MAX_PTY_COLS = 4096;
export const MAX_PTY_ROWS = 4096;
export const DEFAULT_PTY_SIZE = { cols: 80, rows: 24 } as const;

/** `TERM` goes into the child's environment: a terminal name, nothing else. */
const TERM_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;
export const DEFAULT_TERM = 'xterm-256color';

export interface PtySize {
  cols: number;
  rows: number;
}

/**
 * A requested size: `undefined` when it gives none (a zero, which RFC 4254 §6.2 says to ignore),
 * an error naming the limit when a value is out of bounds.
 */
export function checkPtySize(cols: number, rows: number): Result<PtySize | undefined, string> {
  if (cols > MAX_PTY_COLS || rows > MAX_PTY_ROWS)
    return err(`${cols}×${rows} is beyond the largest terminal the agent sets up (${MAX_PTY_COLS}×${MAX_PTY_ROWS})`);
  if (cols === 0 || rows === 0) return ok(undefined);
  return ok({ cols, rows });
}

/** The `TERM` to run with: the requested name, the default when none was given, an error for anything else. */
export function checkTerm(term: string): Result<string, string> {
  if (term === '') return ok(DEFAULT_TERM);
  if (!TERM_NAME.test(term))
    return err('the terminal type is not a terminal name (letters, digits, . _ + -; at most 64)');
  return ok(term);
}
