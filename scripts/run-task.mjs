// Runs one task as a child of the bootstrap (scripts/run.mjs) and ends as it ends. Plain
// JavaScript with no dependencies: it runs on the machine's system Node, as run.mjs does.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Starts `command args` with this process's stdio and exits with its status; killed by a signal,
 * this process ends by the same signal. A signal sent to this process alone — a process manager's
 * SIGTERM, `kill`, `timeout` — is passed on: the task would otherwise go on running, orphaned. From
 * a terminal both get Ctrl-C; the tasks take a repeated signal as the same request.
 */
export function runTask(command, args, options) {
  const child = spawn(command, args, { ...options, stdio: 'inherit' });
  const forward = (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const signal of FORWARDED) process.on(signal, forward);
  child.on('error', (e) => {
    // Also raised when a forwarded signal cannot be sent (EPERM): the task then still runs.
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) return;
    process.stderr.write(`[airlock] error: could not start ${command}: ${e.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    for (const s of FORWARDED) process.off(s, forward);
    if (!signal) return process.exit(code ?? 1);
    // Ended by the same signal where that only ends a process; for any other, the shell's
    // convention for "ended by a signal" (128 + n): Node ignores SIGPIPE, SIGUSR1 would open the
    // inspector in this process, SIGQUIT or SIGABRT would dump its core.
    if (FORWARDED.includes(signal)) process.kill(process.pid, signal);
    process.exit(128 + (constants.signals[signal] ?? 0));
  });
}
