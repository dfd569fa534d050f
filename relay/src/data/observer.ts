/** `up`: Connect → agent (what the user sends). `down`: agent → Connect. */
export type Direction = 'up' | 'down';

/** What is logged and reported when a session ends. */
export interface SessionCloseStats {
  sid: string;
  vm: string;
  user: string;
  /** Whether both sides ever joined. */
  paired: boolean;
  bytesUp: number;
  bytesDown: number;
  /** From pairing (or, if never paired, from creation) to close. */
  durationMs: number;
  reason: string;
  /** A side ended it because the other broke the SSH protocol, or after a bug of its own (close code 4007 or 1011). */
  failed?: boolean;
  /**
   * Only this connection ended (a side vanished, the relay restarted, a resume took over): the
   * session itself may still be resumed, here or on another relay.
   */
  interrupted?: boolean;
}

/** A live view of one session, for tests, benchmarks and (later) the helpdesk view. */
export interface SessionSnapshot {
  sid: string;
  vm: string;
  user: string;
  state: 'pending' | 'paired' | 'refused';
  agentJoined: boolean;
  connectJoined: boolean;
  bytesUp: number;
  bytesDown: number;
  /** Bytes handed to a socket's `send` whose callback has not fired yet, per destination direction. */
  inFlightUp: number;
  inFlightDown: number;
  maxInFlightUp: number;
  maxInFlightDown: number;
  /** Whether the relay has stopped reading that side because the other side is not keeping up. */
  agentPaused: boolean;
  connectPaused: boolean;
  /** How many times reading was paused, both directions together. */
  pauses: number;
}

/**
 * Hooks into the data plane. Integration tests use `onFrame` to prove the relay never sees
 * plaintext; metrics can use `onSessionClosed`. Hooks run synchronously on the hot path: keep them cheap.
 */
export interface DataPlaneObserver {
  onFrame?(sessionId: string, direction: Direction, data: Buffer): void;
  /** `resumed`: a dropped session joined again (a new pair of sockets for the same session). */
  onSessionPaired?(s: { sid: string; vm: string; user: string; resumed?: boolean }): void;
  onSessionClosed?(stats: SessionCloseStats): void;
}
