import { printableText } from '@airlock/shared';
import type { ConnectionState, VmSession } from '../core/session/types.js';

/** One line for people about a change of a session's connection, or undefined when there is nothing to say. */
export function connectionNotice(vm: string, e: ConnectionState): string | undefined {
  switch (e.state) {
    case 'reconnecting':
      return e.attempt === 1
        ? `connection to ${vm} lost (${e.reason}); resuming the session, for up to ${Math.round(e.windowMs / 1000)} s`
        : `still resuming the session to ${vm} (attempt ${e.attempt}, ${Math.round(e.downMs / 1000)} s down): ${e.reason}`;
    case 'resumed':
      return `session to ${vm} resumed after ${(e.downMs / 1000).toFixed(1)} s; nothing was lost`;
    case 'lost':
      return `session to ${vm}: ${e.reason}`;
    case 'connected':
      return undefined;
  }
}

/** Tells `write` (stderr) a session's connection changes, one line each; stdout belongs to the remote side. */
export function printConnectionNotices(session: VmSession, write: (line: string) => void): () => void {
  let lastAttemptPrinted = 0;
  return session.onConnectionState((e) => {
    // Attempts come every few seconds: print the first and then one in five.
    if (e.state === 'reconnecting') {
      if (e.attempt !== 1 && e.attempt - lastAttemptPrinted < 5) return;
      lastAttemptPrinted = e.attempt;
    }
    const line = connectionNotice(session.vm, e);
    if (line) write(line);
  });
}

/** A notice on stderr; on a terminal (maybe in raw mode for a shell) on a line of its own. */
export function writeNotice(line: string): void {
  // Reasons quote the far side (close reasons, a relay's refusal): never a terminal escape.
  const text = printableText(line, 2000);
  process.stderr.write(process.stderr.isTTY ? `\r\nairlock: ${text}\r\n` : `airlock: ${text}\n`);
}
