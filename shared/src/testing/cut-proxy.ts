import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { resetSocket } from '../socket-reset.js';

/**
 * A TCP proxy on 127.0.0.1 in front of the relay whose `cut()` resets every connection through it
 * at once: to Connect and the agent behind it, that is the relay process dying (or the network
 * under it), with no WebSocket close and no TLS close_notify. New connections go through again,
 * as to a relay that was restarted.
 */
export class CutProxy {
  private readonly pairs = new Set<[Socket, Socket]>();
  private blocked = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<CutProxy> {
    const server = createServer({ pauseOnConnect: true });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const proxy = new CutProxy(server, (server.address() as AddressInfo).port);
    server.on('connection', (inbound) => proxy.relay(inbound, targetPort));
    return proxy;
  }

  private relay(inbound: Socket, targetPort: number): void {
    if (this.blocked) return void resetSocket(inbound);
    const outbound = connect({ host: '127.0.0.1', port: targetPort });
    const pair: [Socket, Socket] = [inbound, outbound];
    this.pairs.add(pair);
    const drop = () => {
      this.pairs.delete(pair);
      inbound.destroy();
      outbound.destroy();
    };
    for (const s of pair) {
      s.on('error', drop);
      s.on('close', drop);
    }
    outbound.once('connect', () => {
      inbound.pipe(outbound);
      outbound.pipe(inbound);
      inbound.resume();
    });
  }

  /** Resets every connection through the proxy, both sides. */
  cut(): number {
    const n = this.pairs.size;
    for (const [a, b] of [...this.pairs]) {
      resetSocket(a);
      resetSocket(b);
    }
    this.pairs.clear();
    return n;
  }

  /** While blocked, every new connection is reset at once: the relay's host is unreachable. */
  block(on: boolean): void {
    this.blocked = on;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
