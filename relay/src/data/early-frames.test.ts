import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type { WebSocket } from 'ws';
import { EarlyFrameHold } from './early-frames.js';

/** What EarlyFrameHold uses of a socket: its message events, pause and resume. */
function socketStub() {
  const ws = Object.assign(new EventEmitter(), { paused: false, pause: () => {}, resume: () => {} });
  ws.pause = () => void (ws.paused = true);
  ws.resume = () => void (ws.paused = false);
  return ws;
}

test('held frames are replayed in order with their text or binary flag, then the socket reads again', () => {
  const ws = socketStub();
  const hold = new EarlyFrameHold(ws as unknown as WebSocket, 1024, () => assert.fail('no overflow'));
  assert.equal(ws.paused, true, 'the early side waits in TCP, not in the relay');
  ws.emit('message', Buffer.from('SSH-2.0-x\r\n'), true);
  ws.emit('message', Buffer.from('a text frame'), false);
  ws.emit('message', Buffer.from([1, 2, 3]), true);
  const replay = hold.stop();
  const got: Array<[string, boolean]> = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => got.push([data.toString('latin1'), isBinary]));
  replay.replay();
  assert.deepEqual(got, [
    ['SSH-2.0-x\r\n', true],
    ['a text frame', false],
    ['\x01\x02\x03', true],
  ]);
  assert.equal(ws.paused, false);
});

test('past the limit the hold stops keeping frames and says how much came', () => {
  const ws = socketStub();
  let overflow = 0;
  new EarlyFrameHold(ws as unknown as WebSocket, 10, (bytes) => (overflow = bytes));
  ws.emit('message', Buffer.alloc(6), true);
  ws.emit('message', Buffer.alloc(6), true);
  assert.equal(overflow, 12);
  assert.equal(ws.listenerCount('message'), 0, 'no longer held');
});
