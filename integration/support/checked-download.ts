import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';

/** A service in the VM that sends `total` pseudo-random bytes on each connection and records their sha256. */
export function downloadServer(total: number): { server: Server; sent: Promise<string>[] } {
  const sent: Promise<string>[] = [];
  const server = createServer((s: Socket) => {
    s.on('error', () => {});
    const hash = createHash('sha256');
    const block = randomBytes(256 * 1024);
    let left = total;
    sent.push(
      new Promise((resolve) => {
        const pump = (): void => {
          while (left > 0) {
            // Each block differs (its first bytes carry the offset), so a repeated or skipped
            // block changes the checksum.
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

/** Reads a connection to its end: bytes, sha256, and how it ended. */
export function download(
  p: number,
  onData?: (total: number) => void,
): Promise<{ bytes: number; sha256: string; end: string }> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port: p });
    const hash = createHash('sha256');
    let bytes = 0;
    s.on('data', (d: Buffer) => {
      hash.update(d);
      bytes += d.length;
      onData?.(bytes);
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve({ bytes, sha256: '', end: e.code ?? e.message }));
    s.on('end', () => resolve({ bytes, sha256: hash.digest('hex'), end: 'end' }));
  });
}
