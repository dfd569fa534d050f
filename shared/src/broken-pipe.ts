/**
 * A reader that goes away (`airlock-relay audit tail | head -1`) is not an error. Node ignores
 * SIGPIPE, so the next write to stdout fails with EPIPE, and an unhandled stream error prints a
 * stack trace. With this installed the program ends at once, quietly: with 0 for a command
 * whose reader asked for no more, or the `exitCode` given — a server (relay, agent) that lost
 * its log stream passes 1, so a supervisor restarts it instead of taking it as done. Calling
 * it again only changes the exit code. Other stream errors are rethrown as before.
 */
export function endQuietlyWhenReaderGoes(options: { exitCode?: number; streams?: NodeJS.WriteStream[] } = {}): void {
  brokenPipeExitCode = options.exitCode ?? 0;
  for (const stream of options.streams ?? [process.stdout, process.stderr]) {
    if (installed.has(stream)) continue;
    installed.add(stream);
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(brokenPipeExitCode);
      throw error;
    });
  }
}

let brokenPipeExitCode = 0;
const installed = new WeakSet<NodeJS.WriteStream>();
