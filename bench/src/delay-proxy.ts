import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 that holds every chunk for `oneWayMs` in each direction, so a path
 * through it has a round trip of 2 × oneWayMs. It models latency, not a bottleneck: it reads as
 * fast as the sender writes, so what limits throughput is the window of the protocol above
 * (SSH channel windows here), which is what the 40 ms runs are meant to show.
 */
export async function startDelayProxy(targetPort: number, oneWayMs: number): Promise<{ port: number; server: Server }> {
  const server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    delayPipe(client, upstream, oneWayMs);
    delayPipe(upstream, client, oneWayMs);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, server };
}

function delayPipe(from: Socket, to: Socket, ms: number): void {
  from.setNoDelay(true);
  from.on('data', (d: Buffer) => {
    setTimeout(() => {
      if (!to.destroyed) to.write(d);
    }, ms);
  });
  from.on('end', () => setTimeout(() => to.end(), ms + 1));
  from.on('error', () => to.destroy());
  // After a clean end the other socket must flush what it holds; only an abort tears it down.
  from.on('close', (hadError) => {
    if (hadError) setTimeout(() => to.destroy(), ms + 5);
  });
}
