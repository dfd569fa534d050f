import type { SessionCloseStats } from './observer.js';

/** A session whose connection dropped, kept until it is resumed or its window passes. */
interface Held {
  vm: string;
  user: string;
  since: number;
  timer: NodeJS.Timeout;
}

/**
 * The sessions whose connection dropped and that may still be resumed, each for `windowMs`.
 * One that is not resumed in time, or that is ended while it waits (revocation), is recorded as
 * closed through `onEnded` — the close record its interrupted connection did not write.
 */
export class ResumeWindows {
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly opts: {
      windowMs: number;
      onEnded: (stats: SessionCloseStats) => void;
    },
  ) {}

  get size(): number {
    return this.held.size;
  }

  ids(): string[] {
    return [...this.held.keys()];
  }

  /** Keeps a dropped session resumable; past the window it is recorded as ended. */
  hold(sid: string, vm: string, user: string): void {
    this.release(sid);
    const held: Held = {
      vm,
      user,
      since: Date.now(),
      timer: setTimeout(() => {
        this.held.delete(sid);
        const secs = Math.round(this.opts.windowMs / 1000);
        this.recordEnd(sid, held, `not resumed within ${secs} s of its connection dropping`);
      }, this.opts.windowMs),
    };
    held.timer.unref();
    this.held.set(sid, held);
  }

  /** The session is resumed (or taken over): it no longer waits, and no close is recorded. */
  release(sid: string): void {
    const held = this.held.get(sid);
    if (!held) return;
    clearTimeout(held.timer);
    this.held.delete(sid);
  }

  /** Ends a session that waits to be resumed: recorded as closed with `reason`. */
  end(sid: string, reason: string): boolean {
    const held = this.held.get(sid);
    if (!held) return false;
    this.release(sid);
    this.recordEnd(sid, held, reason);
    return true;
  }

  /** Relay shutdown: nothing is recorded; the next start closes them ("relay restarted"). */
  releaseAll(): void {
    for (const sid of [...this.held.keys()]) this.release(sid);
  }

  private recordEnd(sid: string, held: Held, reason: string): void {
    this.opts.onEnded({
      sid,
      vm: held.vm,
      user: held.user,
      paired: true,
      bytesUp: 0,
      bytesDown: 0,
      durationMs: Date.now() - held.since,
      reason,
    });
  }
}
