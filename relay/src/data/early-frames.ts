import type { RawData, WebSocket } from 'ws';
import { asBuffer } from './session-pipe.js';

/**
 * The side that joins a session first may already be talking (SSH sends its version line at
 * once). Its socket is paused — so further bytes wait in TCP, not here — and what it had already
 * sent is kept, up to `limitBytes`, to be replayed once the other side is there.
 */
export class EarlyFrameHold {
  /** Each frame with its text/binary flag: the pipe passes the flag on as it came. */
  private readonly frames: Array<{ data: Buffer; isBinary: boolean }> = [];
  private bytes = 0;
  private readonly hold = (data: RawData, isBinary: boolean): void => {
    const buf = asBuffer(data);
    this.bytes += buf.length;
    if (this.bytes > this.limitBytes) {
      this.ws.off('message', this.hold);
      this.onOverflow(this.bytes);
      return;
    }
    this.frames.push({ data: buf, isBinary });
  };

  constructor(
    readonly ws: WebSocket,
    private readonly limitBytes: number,
    private readonly onOverflow: (bytes: number) => void,
  ) {
    ws.on('message', this.hold);
    ws.pause();
  }

  /**
   * Pairing: stop holding and hand back the socket's replay. The caller attaches its own
   * listener first, then calls `replay()`.
   */
  stop(): { replay(): void } {
    this.ws.off('message', this.hold);
    return {
      replay: () => {
        // Through the new listener, in order, before anything read after resume().
        for (const frame of this.frames) this.ws.emit('message', frame.data, frame.isBinary);
        this.ws.resume();
      },
    };
  }

  /**
   * The session ended unpaired: a held socket must be read again, or the closing handshake that
   * follows never completes; what it still sends is dropped, not held.
   */
  drop(): void {
    this.ws.off('message', this.hold);
    this.ws.resume();
  }
}
