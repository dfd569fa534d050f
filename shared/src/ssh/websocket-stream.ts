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

/**
 * The masking key of every frame a data socket sends (`generateMask` in ws's client options): all
 * zeros, which ws takes as nothing to XOR. RFC 6455 makes a client mask its frames so that a
 * script in a browser cannot put bytes of its choosing on the wire for a proxy to misread (§10.3).
 * Nothing of that kind holds here: Connect and the agent are not browsers, a data socket carries
 * only SSH packets, encrypted end to end before they are framed, and it runs inside TLS to the
 * relay. The frames stay valid (the mask bit is set; the key is zero), so the relay and anything
 * in front of it read them as before. What it saves, per frame: ws copying the payload into a new
 * buffer to mask it, the XOR on the sending side, and the relay's XOR to unmask (issue 11's
 * profile: "ws framing, masking, random masks" 4-7 % of each program). The agent's control link
 * keeps random masks: it carries JSON, and little of it.
 */
export function zeroMask(mask: Buffer): void {
  mask.fill(0);
}
