// The bytes a load session carries: a 64 KiB block of its own (derived from the session id), sent
// again and again with the chunk's number in its first 8 bytes. The receiver checks every chunk,
// so a lost, repeated or reordered chunk, or one from another session (cross-talk), is seen.
import { createHash } from 'node:crypto';

export const CHUNK_BYTES = 64 * 1024;

/** The session's own block (bytes 8… of every chunk). */
export function sessionBlock(sid: string): Buffer {
  const block = Buffer.alloc(CHUNK_BYTES);
  for (let off = 0, i = 0; off < CHUNK_BYTES; i++) {
    const h = createHash('sha512').update(`${sid}:${i}`).digest();
    off += h.copy(block, off);
  }
  return block;
}

/** Chunk `n` of a session's stream (a fresh buffer: the socket may still hold the previous one). */
export function chunk(block: Buffer, n: number): Buffer {
  const c = Buffer.from(block);
  c.writeBigUInt64BE(BigInt(n), 0);
  return c;
}

/** Checks a session's stream as it arrives, in any framing. */
export class StreamCheck {
  private pending: Buffer = Buffer.alloc(0);
  chunks = 0;
  bytes = 0;
  /** The first problem seen (wrong chunk number, foreign bytes), if any. */
  problem: string | undefined;

  constructor(private readonly block: Buffer) {}

  push(data: Buffer): void {
    this.bytes += data.length;
    this.pending = this.pending.length ? Buffer.concat([this.pending, data]) : data;
    while (this.pending.length >= CHUNK_BYTES) {
      const c = this.pending.subarray(0, CHUNK_BYTES);
      this.pending = this.pending.subarray(CHUNK_BYTES);
      if (this.problem) continue;
      const n = Number(c.readBigUInt64BE(0));
      if (n !== this.chunks) this.problem = `chunk ${n} where ${this.chunks} was due (lost, repeated or reordered)`;
      else if (!c.subarray(8).equals(this.block.subarray(8))) this.problem = `chunk ${n} holds another session's bytes`;
      this.chunks++;
    }
  }
}
