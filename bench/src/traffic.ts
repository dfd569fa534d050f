import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * The "application inside the VM" for throughput runs: on connect it reads one 8-byte
 * big-endian length, sends that many bytes and closes. A fixed block is reused so the service
 * costs almost nothing next to what is measured.
 */
export async function startSourceService(): Promise<{ port: number; server: Server }> {
  const block = Buffer.alloc(1024 * 1024, 0x61);
  const server = createServer((sock) => {
    let header = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      if (header.length >= 8) return;
      header = Buffer.concat([header, d]);
      if (header.length < 8) return;
      let left = Number(header.readBigUInt64BE(0));
      const pump = (): void => {
        while (left > 0) {
          const n = Math.min(left, block.length);
          left -= n;
          if (!sock.write(n === block.length ? block : block.subarray(0, n))) {
            sock.once('drain', pump);
            return;
          }
        }
        sock.end();
      };
      pump();
    });
    sock.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, server };
}

/** Downloads `bytes` from a source service reachable at 127.0.0.1:port; returns MB/s (10^6). */
export async function measureDownload(port: number, bytes: number): Promise<number> {
  const sock: Socket = connect({ host: '127.0.0.1', port });
  await once(sock, 'connect');
  const header = Buffer.alloc(8);
  header.writeBigUInt64BE(BigInt(bytes));
  const start = process.hrtime.bigint();
  sock.write(header);
  let got = 0;
  sock.on('data', (d: Buffer) => {
    got += d.length;
  });
  await once(sock, 'end');
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  sock.destroy();
  if (got !== bytes) throw new Error(`download got ${got} of ${bytes} bytes`);
  return bytes / 1e6 / seconds;
}
