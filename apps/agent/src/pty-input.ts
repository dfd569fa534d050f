import { writeSync } from 'node:fs';

/** Longest pause between tries while the terminal's input queue stays full. */
const MAX_RETRY_MS = 50;

/**
 * Client input into a terminal's master side, acknowledged only once the kernel has taken it.
 *
 * node-pty's own `write` queues without limit and returns at once, so acknowledging on return
 * told the client to keep sending while a program that does not read (`sleep 60`, a hung editor)
 * left every byte queued in the agent: a large paste, or any client, could grow the agent's
 * memory without bound. Here the SSH window is given back per chunk written, so what waits is
 * bounded by the channel's window. node-pty also retries a full terminal (EAGAIN) on every turn
 * of the event loop, a busy loop for as long as the program does not read; this backs off
 * instead (1, 2, 4 … 50 ms): terminal input is typed or pasted, and a terminal that drains
 * resets the back-off at the next write.
 *
 * Writes are synchronous (the master side is non-blocking: a full terminal is EAGAIN, never a
 * wait) and each is preceded by `stillOpen()`: node-pty closes the descriptor when the terminal
 * hangs up, and its number is then reused by the next file or socket the agent opens — another
 * session's terminal, say. An asynchronous write queued before that close would run after it;
 * a synchronous one right after the check cannot.
 */
export class PtyInput {
  private readonly queue: Array<{ data: Buffer; offset: number; done: () => void }> = [];
  private retryMs = 0;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  /** `stillOpen`: whether the owner of `fd` still holds it open (checked before every write). */
  constructor(
    private readonly fd: number,
    private readonly stillOpen: () => boolean,
  ) {}

  /** `done` fires once all of `data` is in the terminal, or once this input is closed. */
  write(data: Buffer, done: () => void): void {
    if (this.closed || data.length === 0) return done();
    this.queue.push({ data, offset: 0, done });
    if (!this.retry) this.pump();
  }

  /** The terminal is gone (its program exited, or the session hung it up): what waited is let go. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retry);
    this.retry = undefined;
    for (const t of this.queue.splice(0)) t.done();
  }

  private pump(): void {
    for (let task = this.queue[0]; task; task = this.queue[0]) {
      if (this.closed) return;
      if (!this.stillOpen()) return this.close();
      let written: number;
      try {
        written = writeSync(this.fd, task.data, task.offset, task.data.length - task.offset);
      } catch (e) {
        // EAGAIN: the terminal's input queue is full until the program reads.
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return this.retryLater();
        // EIO once nothing holds the terminal's other side.
        return this.close();
      }
      this.retryMs = 0;
      task.offset += written;
      if (task.offset >= task.data.length) {
        this.queue.shift();
        task.done();
      }
    }
  }

  private retryLater(): void {
    this.retryMs = Math.min(MAX_RETRY_MS, Math.max(1, this.retryMs * 2));
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.pump();
    }, this.retryMs);
  }
}
