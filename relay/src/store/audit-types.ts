// The audit log: a hash chain of entries, signed checkpoints over it, and each sink's cursor.

export interface AuditEventInput {
  /** Dotted event type, e.g. `login.failure`, `session.close`, `admin.user.create`. */
  type: string;
  /** Who did it: `user:<name>`, `device:<id>`, `agent:<vm>`, `client:<id>`, `cli:<os user>`, `relay`. */
  actor: string;
  /** Whether the action was allowed; refusals carry a `reason` in data. */
  outcome: 'success' | 'failure' | 'info';
  /** Session id when the event belongs to one. */
  sid?: string;
  /** Source address for network events. */
  source?: string;
  data: Record<string, unknown>;
}

export interface AuditEntry extends AuditEventInput {
  /** 1, 2, 3… with no gaps. */
  seq: number;
  ts: string;
  /** Hex sha256 of the previous entry (64 zeros for seq 1). */
  prevHash: string;
  /** Hex sha256 over this entry, see `audit/chain.ts`. */
  hash: string;
}

export interface AuditCheckpoint {
  seq: number;
  hash: string;
  ts: string;
  /** base64url Ed25519 signature by the relay signing key over `checkpointSigningInput`. */
  signature: string;
  /** SPKI PEM of the key that signed it, so verification survives key rotation. */
  publicKeyPem: string;
}

export interface AuditQuery {
  afterSeq?: number;
  limit?: number;
  type?: string;
  actor?: string;
  sid?: string;
  outcome?: AuditEntry['outcome'];
  since?: string;
  until?: string;
  /** Newest first (for `tail`). */
  descending?: boolean;
}

export interface AuditStore {
  /**
   * Appends one entry, chained to the last one inside one write transaction, so two processes
   * (relay and admin CLI) appending at once still produce a single chain.
   */
  append(event: AuditEventInput, now?: Date): Promise<AuditEntry>;
  last(): Promise<AuditEntry | undefined>;
  query(q?: AuditQuery): Promise<AuditEntry[]>;
  /** All entries in seq order, in pages (for verify and sinks). */
  range(afterSeq: number, limit: number): Promise<AuditEntry[]>;
  addCheckpoint(c: AuditCheckpoint): Promise<void>;
  checkpoints(): Promise<AuditCheckpoint[]>;
  /** Delivery cursor of a named sink (last seq delivered), 0 when new. */
  getCursor(sink: string): Promise<number>;
  setCursor(sink: string, seq: number): Promise<void>;
}
