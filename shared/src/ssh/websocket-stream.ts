import { NodeStream, type Stream } from '@microsoft/dev-tunnels-ssh';
import { createWebSocketStream, type WebSocket } from 'ws';

/**
 * Wraps a `ws` socket as the library's Stream. Call it right after creating the socket,
 * before awaiting 'open': frames that arrive before the adapter listens are lost and the SSH
 * handshake then hangs (docs/dev-tunnels-ssh.md, trap 7). The Duplex gives us write backpressure, which the
 * library's own WebSocketStream lacks.
 */
export function webSocketSshStream(ws: WebSocket): Stream {
  ws.binaryType = 'nodebuffer';
  const duplex = createWebSocketStream(ws, { allowHalfOpen: false });
  // A socket error surfaces on the SSH session as a closed stream; without a listener
  // the Duplex would rethrow it as an uncaught exception.
  duplex.on('error', () => {});
  return new NodeStream(duplex);
}
