import type { WebSocket } from 'ws';

interface Watched {
  alive: boolean;
  /** A socket the relay itself paused cannot answer pings in time; do not count that against it. */
  exempt: () => boolean;
  onDead: () => void;
  slice: Map<WebSocket, Watched>;
}

/**
 * Each period is cut into this many ticks, each pinging its own share of the sockets: at 10 000
 * sessions (20 000 sockets) pinging all at once held the event loop for about a second every
 * period, long enough on a busy machine for new sessions' requests to time out (issue 11).
 */
const SLICES = 20;

/**
 * Pings every watched socket once each period and terminates those that showed no sign of life
 * (a pong, a message, a completed send) during the whole previous period. Sockets join the slices
 * in turn, so each tick pings about 1/SLICES of them.
 */
export class Heartbeat {
  private readonly watched = new Map<WebSocket, Watched>();
  private readonly slices = Array.from({ length: SLICES }, () => new Map<WebSocket, Watched>());
  private readonly timer: NodeJS.Timeout;
  private joined = 0;
  private ticks = 0;

  constructor(intervalMs: number) {
    this.timer = setInterval(() => this.tick(), intervalMs / SLICES);
    this.timer.unref();
  }

  watch(ws: WebSocket, opts: { exempt?: () => boolean; onDead?: () => void } = {}): void {
    const slice = this.slices[this.joined++ % SLICES]!;
    const entry: Watched = {
      alive: true,
      exempt: opts.exempt ?? (() => false),
      onDead: opts.onDead ?? (() => {}),
      slice,
    };
    this.watched.set(ws, entry);
    slice.set(ws, entry);
    ws.on('pong', () => (entry.alive = true));
    ws.once('close', () => this.forget(ws, entry));
  }

  /** Marks a socket as alive (traffic seen). */
  touch(ws: WebSocket): void {
    const entry = this.watched.get(ws);
    if (entry) entry.alive = true;
  }

  close(): void {
    clearInterval(this.timer);
    this.watched.clear();
    for (const slice of this.slices) slice.clear();
  }

  private forget(ws: WebSocket, entry: Watched): void {
    this.watched.delete(ws);
    entry.slice.delete(ws);
  }

  private tick(): void {
    for (const [ws, entry] of this.slices[this.ticks++ % SLICES]!) {
      if (!entry.alive && !entry.exempt()) {
        this.forget(ws, entry);
        entry.onDead();
        ws.terminate();
        continue;
      }
      entry.alive = false;
      if (ws.readyState === ws.OPEN) ws.ping();
    }
  }
}
