import type { Socket } from 'node:net';

/** How long a reset waits for a FIN already on its way to go out first (one turn of the event loop, normally). */
const SHUTDOWN_GRACE_MS = 5_000;

/**
 * Ends a TCP connection with a reset (RST), so the peer cannot take a cut stream for a complete one.
 *
 * `resetAndDestroy()` alone is not safe: once a socket's writes are all out and its end() has
 * queued the shutdown (its FIN), libuv refuses a reset until that shutdown has run (EINVAL), and
 * Node then drops the handle without closing it — the descriptor leaks, 'close' never comes, and
 * the process spins at 100 % CPU when it exits, waiting for that handle (seen as a test run that
 * passed and then never ended). Such a socket has sent everything it was given, so nothing is cut
 * by letting that FIN go first: the reset follows as soon as the shutdown is done.
 */
export function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  const shutdownQueued = socket.writableEnded && !socket.writableFinished && socket.writableLength === 0;
  if (!shutdownQueued) return void socket.resetAndDestroy();
  const giveUp = setTimeout(() => socket.destroy(), SHUTDOWN_GRACE_MS).unref();
  socket.once('close', () => clearTimeout(giveUp));
  socket.once('finish', () => {
    clearTimeout(giveUp);
    // The shutdown has run; the reset now tells the peer that what it was sending is lost.
    if (!socket.destroyed) socket.resetAndDestroy();
  });
}
