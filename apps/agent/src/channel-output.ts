import { SshExtendedDataType, type SshChannel } from '@microsoft/dev-tunnels-ssh';

interface Chunk {
  data: Buffer;
  stderr: boolean;
}

/** The library's private send-window bookkeeping, read at runtime (see the class comment). */
interface ChannelWindowInternals {
  remoteWindowSize?: unknown;
  adjustRemoteWindow?: unknown;
}

const HIGH_WATER = 256 * 1024;
const LOW_WATER = 64 * 1024;

/**
 * Sends process output (stdout and stderr) to a channel in order, without ever letting the
 * library's `send` wait for window.
 *
 * Why: `SshChannel.send` holds the channel's send semaphore while it waits for the client to
 * open the window, and the library's *channel request* handler waits for that same semaphore
 * inside the session's one-message-at-a-time loop. A `window-change` arriving while a terminal
 * has filled its window would then block the loop — including the window-adjust message that
 * would have released it: the whole session deadlocks. So we send at most what the window
 * allows and wait for window adjustments ourselves, outside the semaphore.
 *
 * `onPressure(true)` asks the source to pause (pty.pause / stream.pause); `false` to resume.
 */
export class ChannelOutput {
  private queue: Chunk[] = [];
  private queued = 0;
  private pumping = false;
  private paused = false;
  private failed = false;
  private windowWaiter: (() => void) | undefined;
  private idleWaiters: (() => void)[] = [];
  private readonly internals: ChannelWindowInternals;
  private readonly windowAware: boolean;

  constructor(
    private readonly channel: SshChannel,
    private readonly onPressure: (pause: boolean) => void = () => {},
  ) {
    this.internals = channel as unknown as ChannelWindowInternals;
    const orig = this.internals.adjustRemoteWindow;
    this.windowAware = typeof this.internals.remoteWindowSize === 'number' && typeof orig === 'function';
    if (this.windowAware) {
      const fn = orig as (n: number) => void;
      this.internals.adjustRemoteWindow = (n: number) => {
        fn.call(channel, n);
        const w = this.windowWaiter;
        this.windowWaiter = undefined;
        w?.();
      };
    }
  }

  /** Takes `data` over: process output chunks are fresh buffers nobody writes to again. */
  write(data: Buffer, stderr = false): void {
    if (this.failed || data.length === 0) return;
    this.queue.push({ data, stderr });
    this.queued += data.length;
    if (!this.paused && this.queued >= HIGH_WATER) {
      this.paused = true;
      this.onPressure(true);
    }
    void this.pump();
  }

  /** Resolves once everything queued has been handed to the session (or the channel failed). */
  flushed(): Promise<void> {
    if (!this.pumping && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private window(): number {
    if (!this.windowAware) return Number.MAX_SAFE_INTEGER;
    return this.internals.remoteWindowSize as number;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0 && !this.failed) {
        if (this.channel.isClosed) throw new Error('channel closed');
        const avail = this.window();
        if (avail <= 0) {
          await new Promise<void>((r) => (this.windowWaiter = r));
          continue;
        }
        const head = this.queue[0]!;
        const n = Math.min(avail, head.data.length);
        const part = n === head.data.length ? head.data : head.data.subarray(0, n);
        if (n === head.data.length) this.queue.shift();
        else head.data = head.data.subarray(n);
        if (head.stderr) await this.channel.sendExtendedData(SshExtendedDataType.STDERR, part);
        else await this.channel.send(part);
        this.queued -= n;
        if (this.paused && this.queued <= LOW_WATER) {
          this.paused = false;
          this.onPressure(false);
        }
      }
    } catch {
      this.failed = true;
      this.queue = [];
      this.queued = 0;
    } finally {
      this.pumping = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Stops waiting (channel closed underneath us). */
  abort(): void {
    this.failed = true;
    this.queue = [];
    const w = this.windowWaiter;
    this.windowWaiter = undefined;
    w?.();
  }
}
