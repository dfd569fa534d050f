// Sessions: each from its ticket to its end, with what it carried and any admin's request to close it.

export interface SessionRecord {
  /** The session id (UUID) carried through Connect, relay and agent logs. */
  id: string;
  user: string;
  device: string;
  vm: string;
  ports: number[];
  /** Ticket issued. */
  createdAt: string;
  /** Both sides paired. */
  openedAt?: string;
  endedAt?: string;
  endReason?: string;
  bytesFromClient: number;
  bytesFromAgent: number;
  /** An admin asked for this session to be closed; the relay that holds it closes it. */
  killRequestedAt?: string;
  killRequestedBy?: string;
}

export interface SessionStore {
  create(s: { id: string; user: string; device: string; vm: string; ports: number[] }): Promise<SessionRecord>;
  get(id: string): Promise<SessionRecord | undefined>;
  markOpened(id: string): Promise<void>;
  markEnded(id: string, end: { reason: string; bytesFromClient: number; bytesFromAgent: number }): Promise<void>;
  /** A connection of the session dropped; it may be resumed. Adds its bytes. */
  markInterrupted(id: string, bytes: { bytesFromClient: number; bytesFromAgent: number }): Promise<void>;
  /** The session was resumed: live again. */
  markResumed(id: string): Promise<void>;
  /** Sessions not yet ended (newest first). */
  listLive(): Promise<SessionRecord[]>;
  list(filter?: { user?: string; vm?: string; limit?: number }): Promise<SessionRecord[]>;
  /** Returns false when unknown or already ended. */
  requestKill(id: string, by: string): Promise<boolean>;
  /** Ends every session still live (a previous run's, after a crash) and returns them as ended. */
  endAllLive(reason: string): Promise<SessionRecord[]>;
}
