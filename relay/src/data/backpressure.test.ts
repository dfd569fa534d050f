import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import { openConnect, startHarness, startSession, waitFor } from '../test-support/harness.js';

const TOTAL = 64 * 1024 * 1024;
const FRAME = 64 * 1024;
const HWM = 1024 * 1024;
const LWM = 256 * 1024;
/** In flight may pass the high-water mark by what was already read from the socket when reading paused. */
const BOUND = HWM + 4 * FRAME;

function tcpOf(ws: WebSocket): { pause(): void; resume(): void } {
  return (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
}

/** Sends TOTAL bytes in FRAME-sized frames, keeping at most `ahead` bytes buffered in the sender. */
function sendAll(ws: WebSocket, ahead: number): { hash: Promise<string>; sent: () => number } {
  const block = randomBytes(FRAME);
  const hash = createHash('sha256');
  let sent = 0;
  let finished = false;
  const done = new Promise<string>((resolve, reject) => {
    const pump = () => {
      while (sent < TOTAL && ws.bufferedAmount < ahead) {
        const frame = Buffer.from(block);
        frame.writeUInt32BE(sent / FRAME); // makes reordering or loss change the hash
        hash.update(frame);
        sent += frame.length;
        ws.send(frame, (e) => (e ? reject(e) : setImmediate(pump)));
      }
      if (sent >= TOTAL && !finished) {
        finished = true;
        resolve(hash.digest('hex'));
      }
    };
    pump();
  });
  return { hash: done, sent: () => sent };
}

test('a Connect reader that stops reading pauses the agent side; relay buffering stays bounded; all bytes arrive', async (t) => {
  const h = await startHarness({ highWaterMarkBytes: HWM, lowWaterMarkBytes: LWM });
  t.after(() => h.close());
  const { agent, session } = await startSession(h);
  t.after(() => agent.close());
  const sid = session.sessionId;
  const agentWs = await agent.openSession(h.relay, h.credential, sid);
  const connectWs = await openConnect(h.relay, sid, session.ticket);
  t.after(() => {
    agentWs.terminate();
    connectWs.terminate();
  });
  await waitFor(() => h.relay.sessionStats(sid)?.state === 'paired', 'pairing');

  const received = createHash('sha256');
  let receivedBytes = 0;
  connectWs.on('message', (d: Buffer) => {
    received.update(d);
    receivedBytes += d.length;
  });
  tcpOf(connectWs).pause(); // the Connect client stops reading its TCP socket

  const sender = sendAll(agentWs, 16 * 1024 * 1024);
  // The agent's own buffer fills up: the relay stopped reading it, so its TCP window closed.
  await waitFor(
    () => agentWs.bufferedAmount >= 8 * 1024 * 1024 && h.relay.sessionStats(sid)!.agentPaused,
    'the agent side to be paused and its sender to back up',
    20_000,
  );
  const stalled = h.relay.sessionStats(sid)!;
  assert.equal(stalled.agentPaused, true);
  assert.ok(stalled.pauses >= 1);
  assert.ok(stalled.inFlightDown <= BOUND, `in flight ${stalled.inFlightDown} > ${BOUND}`);
  assert.ok(stalled.maxInFlightDown <= BOUND, `max in flight ${stalled.maxInFlightDown} > ${BOUND}`);
  assert.ok(stalled.bytesDown < TOTAL / 2, `relay read ${stalled.bytesDown} bytes although nobody was reading`);
  assert.ok(sender.sent() < TOTAL, 'the sender should still be blocked');

  tcpOf(connectWs).resume();
  const expected = await sender.hash;
  await waitFor(() => receivedBytes === TOTAL, `all ${TOTAL} bytes at Connect (got ${receivedBytes})`, 60_000);
  assert.equal(received.digest('hex'), expected);
  const end = h.relay.sessionStats(sid)!;
  assert.equal(end.bytesDown, TOTAL);
  assert.ok(end.maxInFlightDown <= BOUND, `max in flight ${end.maxInFlightDown} > ${BOUND}`);
  assert.equal(end.agentPaused, false);
  assert.equal(end.inFlightDown, 0);
});

test('an agent that stops reading pauses the Connect side the same way', async (t) => {
  const h = await startHarness({ highWaterMarkBytes: HWM, lowWaterMarkBytes: LWM });
  t.after(() => h.close());
  const { agent, session } = await startSession(h);
  t.after(() => agent.close());
  const sid = session.sessionId;
  const connectWs = await openConnect(h.relay, sid, session.ticket);
  const agentWs = await agent.openSession(h.relay, h.credential, sid);
  t.after(() => {
    agentWs.terminate();
    connectWs.terminate();
  });
  await waitFor(() => h.relay.sessionStats(sid)?.state === 'paired', 'pairing');
  let receivedBytes = 0;
  agentWs.on('message', (d: Buffer) => (receivedBytes += d.length));
  tcpOf(agentWs).pause();
  const sender = sendAll(connectWs, 16 * 1024 * 1024);
  await waitFor(
    () => connectWs.bufferedAmount >= 8 * 1024 * 1024 && h.relay.sessionStats(sid)!.connectPaused,
    'the Connect side to be paused',
    20_000,
  );
  assert.ok(h.relay.sessionStats(sid)!.maxInFlightUp <= BOUND);
  tcpOf(agentWs).resume();
  await sender.hash;
  await waitFor(() => receivedBytes === TOTAL, 'all bytes at the agent', 60_000);
  assert.ok(h.relay.sessionStats(sid)!.maxInFlightUp <= BOUND);
});
