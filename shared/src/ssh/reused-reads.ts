import { connect as netConnect, type NetConnectOpts, type Socket } from 'node:net';

/**
 * Sockets that read into one buffer of their own, reused for every read (Node's `onread`),
 * instead of a new 64 KiB buffer per read. A forward moving a gigabyte otherwise allocates a
 * gigabyte of buffers outside V8's heap, and that external memory is what drives V8 into
 * full garbage collections (measured: most of the agent's GC time). A bigger read also makes
 * bigger SSH packets (fewer packets, less per-packet work).
 *
 * The catch: a chunk is only valid until the socket reads again. `bridgeChannel` therefore
 * pauses the socket for every chunk and resumes it only once the channel has taken the bytes
 * (the SSH library copies them into its send buffer before `send()` resolves).
 */
export type ChunkSink = (chunk: Buffer) => void;

const sinks = new WeakMap<Socket, ChunkSink>();
/** Chunks that arrived before a sink was attached (copied: the buffer is reused). */
const early = new WeakMap<Socket, Buffer[]>();
const reusing = new WeakSet<Socket>();

/** `net.connect` whose reads land in one reused buffer of `readBufferBytes`. */
export function connectWithReusedReads(options: NetConnectOpts, readBufferBytes: number): Socket {
  const buffer = Buffer.allocUnsafe(readBufferBytes);
  const socket: Socket = netConnect({
    ...options,
    onread: {
      buffer,
      callback: (bytes: number, buf: Uint8Array) => {
        const chunk = Buffer.from(buf.buffer, buf.byteOffset, bytes);
        const sink = sinks.get(socket);
        if (sink) {
          sink(chunk);
          return !socket.isPaused();
        }
        // Nobody reads yet: keep a copy and stop reading until someone does.
        early.set(socket, [...(early.get(socket) ?? []), Buffer.from(chunk)]);
        return false;
      },
    },
  } as NetConnectOpts);
  reusing.add(socket);
  return socket;
}

/**
 * Reads `socket` through `sink`: with reused reads if the socket was made by
 * `connectWithReusedReads` (the chunk is valid until the socket is resumed), else through
 * 'data' events.
 */
export function readChunks(socket: Socket, sink: ChunkSink): void {
  if (!reusing.has(socket)) {
    socket.on('data', sink);
    return;
  }
  sinks.set(socket, sink);
  const held = early.get(socket);
  early.delete(socket);
  for (const chunk of held ?? []) sink(chunk);
  if (held?.length && !socket.isPaused()) socket.resume();
}
