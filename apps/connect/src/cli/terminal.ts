/**
 * Puts the local terminal into raw mode and guarantees it is restored — on normal return, on
 * `process.exit`, on an uncaught exception and on SIGTERM/SIGHUP — so a crash never leaves the
 * user's terminal without echo.
 */
export function enterRawMode(stdin: NodeJS.ReadStream = process.stdin): () => void {
  if (!stdin.isTTY) return () => {};
  stdin.setRawMode(true);
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    try {
      stdin.setRawMode(false);
    } catch {
      // the terminal is gone
    }
    process.off('exit', restore);
    process.off('uncaughtException', onCrash);
  };
  const onCrash = (e: Error) => {
    restore();
    const detail = process.env.AIRLOCK_DEBUG
      ? (e.stack ?? e.message)
      : `${e.message} (set AIRLOCK_DEBUG=1 for details)`;
    process.stderr.write(`airlock: internal error: ${detail}\n`);
    process.exit(1);
  };
  process.on('exit', restore);
  process.on('uncaughtException', onCrash);
  return restore;
}

/** Terminal size of stdout (or stdin), falling back to 80×24 when there is no terminal. */
export function terminalSize(): { cols: number; rows: number } {
  const tty = process.stdout.isTTY ? process.stdout : process.stderr.isTTY ? process.stderr : undefined;
  return { cols: tty?.columns || 80, rows: tty?.rows || 24 };
}
