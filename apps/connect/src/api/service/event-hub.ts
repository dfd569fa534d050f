import type { ApiEvent } from '../contract/index.js';

/** Fans the service's events out to every subscribed transport (IPC window, WebSocket clients). */
export class EventHub {
  private readonly listeners = new Set<(e: ApiEvent) => void>();

  on(listener: (e: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: ApiEvent): void {
    for (const l of [...this.listeners]) l(event);
  }
}
