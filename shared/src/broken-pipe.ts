/**
 * A reader that goes away (`airlock-relay audit tail | head -1`) is not an error. Node ignores
 * SIGPIPE, so the next write to stdout fails with EPIPE, and an unhandled stream error prints a
 * stack trace. With this installed the program ends at once, quietly: with 0 for a command
 * whose reader asked for no more, or the `exitCode` given — a server (relay, agent) that lost
 * its log stream passes 1, so a supervisor restarts it instead of taking it as done. Calling
 * it again only changes the exit code. Other stream errors are rethrown as before.
 */
export function endQuietlyWhenReaderGoes(options: { exitCode?: number; streams?: NodeJS.WritableStream[] } = {}): void {
  brokenPipeExitCode = options.exitCode ?? 0;
  const streams: NodeJS.WritableStream[] = options.streams ?? [process.stdout, process.stderr];
  for (const stream of streams) {
    if (installed.has(stream)) continue;
    installed.add(stream);
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') return endForBrokenPipe();
      throw error;
    });
  }
}

/** How long last words may take before the program ends anyway. */
const LAST_WORDS_MS = 2000;

/**
 * Runs `hook` before a broken pipe ends the program (at most `LAST_WORDS_MS`): a command with
 * an open session closes it, so the far side ends the remote command now — as sshd does when
 * `ssh` goes — instead of holding it for a resume that will never come. Returns a function that
 * removes the hook.
 */
export function beforeBrokenPipeExit(hook: () => Promise<void>): () => void {
  lastWords = hook;
  return () => {
    if (lastWords === hook) lastWords = undefined;
  };
}

function endForBrokenPipe(): void {
  if (ending) return; // every later write fails too
  ending = true;
  const code = brokenPipeExitCode;
  const hook = lastWords;
  if (!hook) process.exit(code);
  setTimeout(() => process.exit(code), LAST_WORDS_MS);
  hook().then(
    () => process.exit(code),
    () => process.exit(code),
  );
}

let brokenPipeExitCode = 0;
let lastWords: (() => Promise<void>) | undefined;
let ending = false;
const installed = new WeakSet<NodeJS.WritableStream>();
