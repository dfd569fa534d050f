/** One line of `airlock-agent status`: what was checked, whether it passed, what to do. */
export interface StatusCheck {
  check: 'enrollment' | 'relay' | 'clock' | 'agent' | 'link' | 'sessions' | 'port';
  ok: boolean;
  message: string;
  /** The next step, for a failed check. */
  hint?: string;
  port?: number;
}

export const fail = (check: StatusCheck['check'], message: string, hint: string, port?: number): StatusCheck => ({
  check,
  ok: false,
  message,
  hint,
  ...(port !== undefined ? { port } : {}),
});
export const pass = (check: StatusCheck['check'], message: string, port?: number): StatusCheck => ({
  check,
  ok: true,
  message,
  ...(port !== undefined ? { port } : {}),
});
