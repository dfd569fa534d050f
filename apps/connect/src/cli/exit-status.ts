import { constants } from 'node:os';
import type { ExitInfo } from '../core/session/channel-streams.js';
import type { SessionClosedEvent, VmSession } from '../core/session/types.js';
import { CliError, EXIT } from './errors.js';

/**
 * The remote exit becomes ours: the status as is; a signal as 128 + its number (what a local
 * shell reports); no status at all means the session broke, which is a failure (255) — then the
 * session's own close reason (relay or agent gone, with the session id) is what we print.
 */
export async function remoteExitCode(info: ExitInfo, session: VmSession): Promise<number> {
  if (info.exitStatus !== undefined) return info.exitStatus & 0xff;
  if (info.exitSignal) {
    const n = (constants.signals as Record<string, number | undefined>)[`SIG${info.exitSignal}`];
    process.stderr.write(`airlock: remote process killed by signal ${info.exitSignal}\n`);
    return n ? 128 + n : EXIT.failure;
  }
  // The channel closes first; the session's reason follows within moments if the session broke.
  const closed = await new Promise<SessionClosedEvent | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 500);
    session.onClosed((e) => {
      clearTimeout(timer);
      resolve(e);
    });
  });
  if (closed?.error) throw CliError.from(closed.error);
  const why = info.error?.message ?? info.errorMessage;
  throw new CliError(
    `the remote side on ${session.vm} ended without an exit status${why ? `: ${why}` : ''} [session ${session.sessionId}]`,
    'try again; if it keeps failing, ask an admin to check the agent log for this session id',
  );
}

/** Waits until everything written to a stream so far has been handed to the OS. */
export function flushed(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    if (!stream.writable) return resolve();
    stream.write('', () => resolve());
  });
}
