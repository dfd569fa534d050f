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
 * Node reads a child's pipe 64 KiB at a time, and reads again at once only when a read filled
 * its buffer; so a chunk this large says more output is probably being read right now.
 */
const FULL_READ_BYTES = 64 * 1024;

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
 * Bulk output (`sftp-server` answering reads of 255 KiB, `cat` of a large file) arrives in 64 KiB
 * reads; sent as they come, each would be an SSH packet with its own encryption, WebSocket frame
 * and relay hop. A full read therefore waits for the rest of the event loop's turn (setImmediate)
 * and whatever has been read meanwhile goes out as one packet of up to the channel's packet size;
 * anything shorter (a prompt, a small reply) goes at once.
 *
 * `onPressure(true)` asks the source to pause (pty.pause / stream.pause); `false` to resume.
 */
export class ChannelOutput {
  private queue: Chunk[] = [];
  private queued = 0;
  private pumping = false;
  private pumpScheduled = false;
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
    if (this.pumping || this.pumpScheduled) return;
    if (data.length < FULL_READ_BYTES) return void this.pump();
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      void this.pump();
    });
  }

  /** Resolves once everything queued has been handed to the session (or the channel failed). */
  flushed(): Promise<void> {
    if (!this.pumping && !this.pumpScheduled && this.queue.length === 0) return Promise.resolve();
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
        const { part, n } = this.takePacket(avail);
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

  /**
   * Takes the next packet's bytes off the queue: the head chunk, or as much of it as the window
   * allows, joined by the chunks of the same stream after it while they fit in one packet.
   */
  private takePacket(avail: number): { part: Buffer; n: number } {
    const head = this.queue[0]!;
    if (avail < head.data.length) {
      const part = head.data.subarray(0, avail);
      head.data = head.data.subarray(avail);
      return { part, n: avail };
    }
    const limit = Math.min(avail, this.channel.maxPacketSize);
    let count = 1;
    let n = head.data.length;
    let next = this.queue[count];
    while (next && next.stderr === head.stderr && n + next.data.length <= limit) {
      n += next.data.length;
      next = this.queue[++count];
    }
    const taken = this.queue.splice(0, count);
    const part =
      count === 1
        ? head.data
        : Buffer.concat(
            taken.map((c) => c.data),
            n,
          );
    return { part, n };
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
