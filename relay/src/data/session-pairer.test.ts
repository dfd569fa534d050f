import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import { createRelayLogger } from '../logger.js';
import type { Heartbeat } from './heartbeat.js';
import { SessionPairer } from './session-pairer.js';

/**
 * A stand-in for an accepted data socket. Over the network the relay pauses the first side at
 * once, so frames only reach the early-frames buffer if the socket had already read them; this
 * delivers them directly to exercise that bound.
 */
class FakeSocket extends EventEmitter {
  readyState: number = WebSocket.OPEN;
  isPaused = false;
  terminated = false;
  closes: Array<{ code?: number; reason?: string }> = [];
  pause(): void {
    this.isPaused = true;
  }
  resume(): void {
    this.isPaused = false;
  }
  close(code?: number, reason?: string): void {
    this.closes.push({ code, reason }); // a paused socket never completes this handshake
  }
  terminate(): void {
    this.terminated = true;
    this.readyState = WebSocket.CLOSED;
    this.emit('close', 1006, Buffer.alloc(0));
  }
  sendFrames(count: number, size: number): void {
    for (let i = 0; i < count; i++) this.emit('message', Buffer.alloc(size), true);
  }
}

function newPairer(): SessionPairer {
  const heartbeat = { watch: () => {}, touch: () => {} } as unknown as Heartbeat;
  return new SessionPairer({
    unpairedTimeoutMs: 60_000,
    resumeWindowMs: 60_000,
    pendingTtlMs: 60_000,
    maxPendingSessionsPerUser: 8,
    maxPendingSessions: 1000,
    highWaterMarkBytes: 1024 * 1024,
    lowWaterMarkBytes: 256 * 1024,
    logger: createRelayLogger('silent'),
    heartbeat,
  });
}

for (const side of ['connect', 'agent'] as const) {
  test(`a ${side} socket that sends more than 256 KiB before its peer joins is dropped at once, with its session`, () => {
    const pairer = newPairer();
    const sid = randomUUID();
    assert.ok(pairer.create({ sid, vm: 'demo-vm', user: 'alice' }).ok);
    const ws = new FakeSocket();
    pairer.attach(side, sid, ws as unknown as WebSocket);
    assert.ok(ws.isPaused);
    ws.sendFrames(40, 10 * 1024);
    assert.equal(ws.terminated, true, 'terminated, not left waiting for a closing handshake it cannot finish');
    assert.equal(pairer.describe(sid), undefined);
    const peer = side === 'connect' ? 'agent' : 'connect';
    assert.deepEqual(pairer.canAttach(peer, sid, 'demo-vm'), {
      ok: false,
      status: 404,
      reason: `no pending session ${sid}${peer === 'agent' ? ' for this VM' : ''}`,
    });
    assert.equal(pairer.pendingCount('alice'), 0);
  });
}

test('frames arriving after the relay ended an unpaired session do not turn its close into a terminate', () => {
  const pairer = newPairer();
  const sid = randomUUID();
  pairer.create({ sid, vm: 'demo-vm', user: 'alice' });
  const ws = new FakeSocket();
  pairer.attach('connect', sid, ws as unknown as WebSocket);
  pairer.closeAll(4008, 'relay is shutting down');
  assert.equal(ws.isPaused, false, 'resumed so the closing handshake can complete');
  ws.sendFrames(40, 10 * 1024);
  assert.equal(ws.terminated, false);
  assert.deepEqual(ws.closes, [{ code: 4008, reason: 'relay is shutting down' }]);
});
