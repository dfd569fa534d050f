import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { WebSocket, WebSocketServer, type ClientOptions } from 'ws';
import { zeroMask } from './websocket-stream.js';

// What a client's frames look like on the wire, read from the server's own TCP socket, and what
// the server's ws makes of them.
const server: Server = createServer();
const wss = new WebSocketServer({ server, perMessageDeflate: false });
const wire: Buffer[] = [];
// Copied as read: the server's ws unmasks a frame in place, in the very buffer this listener sees.
server.on('connection', (socket) => socket.on('data', (chunk: Buffer) => wire.push(Buffer.from(chunk))));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
after(() => {
  wss.close();
  server.close();
});

/** Sends `payload` in one binary frame; the frame as it crossed the wire, and the message the server got. */
async function sendOne(payload: Buffer, options: ClientOptions): Promise<{ frame: Buffer; received: Buffer }> {
  wire.length = 0;
  const received = new Promise<Buffer>((resolve) =>
    wss.once('connection', (ws) => ws.once('message', (data) => resolve(data as Buffer))),
  );
  const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, {
    perMessageDeflate: false,
    ...options,
  });
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(payload);
  const message = await received;
  ws.terminate();
  const bytes = Buffer.concat(wire);
  // The frame follows the upgrade request's blank line.
  return { frame: bytes.subarray(bytes.indexOf('\r\n\r\n') + 4), received: message };
}

const payload = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7 + 3) & 0xff));

test('zeroMask: frames keep the mask bit with a zero key, carry the payload as it is, and arrive intact', async () => {
  const { frame, received } = await sendOne(payload, { generateMask: zeroMask });
  assert.equal(frame[0], 0x82, 'FIN, binary');
  assert.equal(frame[1]! & 0x80, 0x80, 'the mask bit is set: a valid client frame');
  assert.equal(frame[1]! & 0x7f, 126, 'a 16-bit length follows');
  assert.equal(frame.readUInt16BE(2), payload.length);
  assert.deepEqual([...frame.subarray(4, 8)], [0, 0, 0, 0], 'the masking key');
  assert.deepEqual(frame.subarray(8, 8 + payload.length), payload, 'the payload is not XORed');
  assert.deepEqual(received, payload);
});

test("without it, ws's own random key: the payload on the wire is XORed, and still arrives intact", async () => {
  const { frame, received } = await sendOne(payload, {});
  assert.notDeepEqual([...frame.subarray(4, 8)], [0, 0, 0, 0]);
  assert.notDeepEqual(frame.subarray(8, 8 + payload.length), payload);
  assert.deepEqual(received, payload);
});
