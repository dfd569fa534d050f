import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The session a piece of asynchronous work belongs to. Work started inside `runInSession` —
 * sockets, timers, promises, library callbacks — keeps the context, so the process-level bug
 * handlers can name the session (`sid`) a stray exception or rejection came from, and close
 * that session alone.
 */
export interface SessionContext {
  sid: string;
  /** Ends this session after a bug in its code (optional; best effort, never throws out). */
  abort?: (reason: string) => void;
}

const storage = new AsyncLocalStorage<SessionContext>();

export function runInSession<T>(context: SessionContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The session the current code runs for, if any. */
export function currentSession(): SessionContext | undefined {
  return storage.getStore();
}
