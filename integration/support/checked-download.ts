import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * The source sends one random block over and over, each copy with its own offset in its first
 * four bytes: a repeated, skipped or moved block changes the checksum, and the receiver can say
 * where the stream first differs and which block arrived there instead.
 */
const BLOCK_BYTES = 256 * 1024;

/** A service in the VM that sends `total` pseudo-random bytes on each connection and records their sha256. */
export function downloadServer(total: number): { server: Server; sent: Promise<string>[] } {
  const sent: Promise<string>[] = [];
  const server = createServer((s: Socket) => {
    s.on('error', () => {});
    const hash = createHash('sha256');
    const block = randomBytes(BLOCK_BYTES);
    let left = total;
    sent.push(
      new Promise((resolve) => {
        const pump = (): void => {
          while (left > 0) {
            const n = Math.min(block.length, left);
            block.writeUInt32BE(total - left, 0);
            const chunk = Buffer.from(block.subarray(0, n));
            hash.update(chunk);
            left -= n;
            if (!s.write(chunk)) return void s.once('drain', pump);
          }
          s.end(() => resolve(hash.digest('hex')));
        };
        pump();
      }),
    );
  });
  return { server, sent };
}

export interface DownloadResult {
  bytes: number;
  sha256: string;
  end: string;
  /** Where the stream first differs from what the source's pattern says must be there, if it does. */
  firstDifference?: string;
}

/**
 * Checks a download against the source's pattern as it arrives. The block's random part is
 * learnt from the first block (whose offset field must say 0).
 */
class PatternChecker {
  private readonly block = Buffer.alloc(BLOCK_BYTES);
  private position = 0;
  difference: string | undefined;

  take(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.difference) {
      const inBlock = this.position % BLOCK_BYTES;
      const n = Math.min(chunk.length - at, BLOCK_BYTES - inBlock);
      const piece = chunk.subarray(at, at + n);
      if (this.position < BLOCK_BYTES) piece.copy(this.block, inBlock);
      else this.compare(piece, inBlock);
      at += n;
      this.position += n;
    }
  }

  private compare(piece: Buffer, inBlock: number): void {
    const blockStart = this.position - inBlock;
    const expected = Buffer.from(this.block.subarray(inBlock, inBlock + piece.length));
    const header = Buffer.alloc(4);
    header.writeUInt32BE(blockStart >>> 0, 0);
    for (let i = inBlock; i < 4 && i - inBlock < piece.length; i++) expected[i - inBlock] = header[i]!;
    if (piece.equals(expected)) return;
    let i = 0;
    while (piece[i] === expected[i]) i++;
    const offset = this.position + i;
    const found =
      inBlock === 0 && piece.length >= 4 ? `; the block there says it is at offset ${piece.readUInt32BE(0)}` : '';
    this.difference = `first difference at byte ${offset} (block at ${blockStart}, ${inBlock + i} bytes in)${found}`;
  }
}

/** Reads a connection to its end: bytes, sha256, how it ended, and where it first differs from the source's pattern. */
export function download(p: number, onData?: (total: number) => void): Promise<DownloadResult> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port: p });
    const hash = createHash('sha256');
    const checker = new PatternChecker();
    let bytes = 0;
    const result = (sha256: string, end: string): DownloadResult => ({
      bytes,
      sha256,
      end,
      ...(checker.difference ? { firstDifference: checker.difference } : {}),
    });
    s.on('data', (d: Buffer) => {
      hash.update(d);
      checker.take(d);
      bytes += d.length;
      onData?.(bytes);
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(result('', e.code ?? e.message)));
    s.on('end', () => resolve(result(hash.digest('hex'), 'end')));
  });
}
