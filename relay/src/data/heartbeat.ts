import type { WebSocket } from 'ws';

interface Watched {
  alive: boolean;
  /** A socket the relay itself paused cannot answer pings in time; do not count that against it. */
  exempt: () => boolean;
  onDead: () => void;
}

/**
 * Pings every watched socket each period and terminates those that showed no sign of life
 * (a pong, a message, a completed send) during the whole previous period.
 */
export class Heartbeat {
  private readonly watched = new Map<WebSocket, Watched>();
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs: number) {
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  watch(ws: WebSocket, opts: { exempt?: () => boolean; onDead?: () => void } = {}): void {
    const entry: Watched = { alive: true, exempt: opts.exempt ?? (() => false), onDead: opts.onDead ?? (() => {}) };
    this.watched.set(ws, entry);
    ws.on('pong', () => (entry.alive = true));
    ws.once('close', () => this.watched.delete(ws));
  }

  /** Marks a socket as alive (traffic seen). */
  touch(ws: WebSocket): void {
    const entry = this.watched.get(ws);
    if (entry) entry.alive = true;
  }

  close(): void {
    clearInterval(this.timer);
    this.watched.clear();
  }

  private tick(): void {
    for (const [ws, entry] of this.watched) {
      if (!entry.alive && !entry.exempt()) {
        this.watched.delete(ws);
        entry.onDead();
        ws.terminate();
        continue;
      }
      entry.alive = false;
      if (ws.readyState === ws.OPEN) ws.ping();
    }
  }
}
