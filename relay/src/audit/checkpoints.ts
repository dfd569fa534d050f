import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditCheckpoint, AuditEntry, AuditStore } from '../store/types.js';
import { checkpointSigningInput } from './chain.js';

/** Signs `{seq, hash, ts}` with the relay's Ed25519 key. */
export function signCheckpoint(
  point: { seq: number; hash: string; ts: string },
  privateKey: KeyObject,
  publicKeyPem: string,
): AuditCheckpoint {
  const signature = sign(null, checkpointSigningInput(point), privateKey).toString('base64url');
  return { seq: point.seq, hash: point.hash, ts: point.ts, signature, publicKeyPem };
}

function spkiDer(pem: string): Buffer | undefined {
  try {
    return createPublicKey(pem).export({ type: 'spki', format: 'der' });
  } catch {
    return undefined;
  }
}

/**
 * Why a checkpoint's signature does not hold, or undefined when it does. With `trustedPublicKeysPem`
 * the signer must be one of those keys: the key embedded in the checkpoint alone proves nothing,
 * since whoever can rewrite the table can also sign with a key of their own.
 */
export function checkpointSignatureProblem(c: AuditCheckpoint, trustedPublicKeysPem?: string[]): string | undefined {
  const der = spkiDer(c.publicKeyPem);
  if (!der) return 'its public key is not a readable PEM key';
  if (trustedPublicKeysPem) {
    const trusted = trustedPublicKeysPem.map(spkiDer).filter((k): k is Buffer => k !== undefined);
    if (!trusted.some((k) => k.equals(der))) return 'it is signed by a key that is not trusted';
  }
  let ok: boolean;
  try {
    const key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'ed25519') return `it is signed with a ${key.asymmetricKeyType} key, not Ed25519`;
    ok = verify(null, checkpointSigningInput(c), key, Buffer.from(c.signature, 'base64url'));
  } catch {
    ok = false;
  }
  return ok ? undefined : 'its signature does not verify';
}

export interface CheckpointerOptions {
  store: AuditStore;
  /** The relay's Ed25519 signing key (`loadOrCreateSigningKey(dataDir).key.privateKey`). */
  privateKey: KeyObject;
  publicKeyPem: string;
  logger: Logger;
  /** Sign after this many new entries (default 100). */
  everyEntries?: number;
  /** …or after this long when there are new entries (ms, default 60 000). */
  everyMs?: number;
  /**
   * Awaited before signing up to a seq: the relay passes `auditLog.copyUpTo` so a checkpoint never
   * covers entries the JSON-lines copy does not hold yet (that would read as a truncated copy).
   */
  beforeSign?: (seq: number) => Promise<void>;
  now?: () => Date;
}

/** Signs a checkpoint of the audit chain's head periodically and on close. */
export class Checkpointer {
  private lastSignedSeq = 0;
  private sinceLast = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<AuditCheckpoint | undefined> = Promise.resolve(undefined);
  private closed = false;
  /** Checkpoints that could not be made (each was logged). */
  failures = 0;

  constructor(private readonly opts: CheckpointerOptions) {}

  /** Learns where the last checkpoint stands and starts the timer. */
  async start(): Promise<void> {
    const existing = await this.opts.store.checkpoints();
    this.lastSignedSeq = existing.reduce((m, c) => Math.max(m, c.seq), 0);
    this.timer = setInterval(() => void this.checkpointNow(), this.opts.everyMs ?? 60_000);
    this.timer.unref();
  }

  /** Counts an appended entry (wire it to `AuditLog.onAppended`). */
  noteEntry(_entry: AuditEntry): void {
    if (this.closed) return;
    if (++this.sinceLast >= (this.opts.everyEntries ?? 100)) {
      this.sinceLast = 0;
      void this.checkpointNow();
    }
  }

  /**
   * Signs the store's current head if it moved since the last checkpoint. Runs one at a time;
   * never throws (a failure is logged and counted) since it runs from timers.
   */
  checkpointNow(): Promise<AuditCheckpoint | undefined> {
    this.running = this.running.then(() => this.makeCheckpoint());
    return this.running;
  }

  private async makeCheckpoint(): Promise<AuditCheckpoint | undefined> {
    try {
      const head = await this.opts.store.last();
      if (!head || head.seq <= this.lastSignedSeq) return undefined;
      await this.opts.beforeSign?.(head.seq);
      const ts = (this.opts.now?.() ?? new Date()).toISOString();
      const c = signCheckpoint({ seq: head.seq, hash: head.hash, ts }, this.opts.privateKey, this.opts.publicKeyPem);
      await this.opts.store.addCheckpoint(c);
      this.lastSignedSeq = c.seq;
      this.sinceLast = 0;
      this.opts.logger.debug({ seq: c.seq }, 'audit checkpoint signed');
      return c;
    } catch (e) {
      this.failures++;
      this.opts.logger.error({ err: e, failures: this.failures }, 'audit: could not sign a checkpoint');
      return undefined;
    }
  }

  /** Stops the timer and signs a last checkpoint. Call before closing the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.checkpointNow();
  }
}
