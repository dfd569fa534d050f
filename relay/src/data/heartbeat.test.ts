import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { Heartbeat } from './heartbeat.js';

/** `n` real WebSocket pairs on loopback: the server ends (watched) and the client ends. */
async function pairs(n: number, clientOptions: { autoPong?: boolean } = {}) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  const { port } = wss.address() as { port: number };
  const servers: WebSocket[] = [];
  wss.on('connection', (ws) => servers.push(ws));
  const clients = await Promise.all(
    Array.from({ length: n }, async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`, clientOptions);
      await once(ws, 'open');
      return ws;
    }),
  );
  while (servers.length < n) await new Promise((r) => setTimeout(r, 10));
  return {
    servers,
    clients,
    close: () => {
      for (const ws of clients) ws.terminate();
      wss.close();
    },
  };
}

test('every socket is pinged once a period, a share of them at a time rather than all at once', async (t) => {
  const n = 200;
  const periodMs = 400;
  const p = await pairs(n);
  t.after(() => p.close());
  const heartbeat = new Heartbeat(periodMs);
  t.after(() => heartbeat.close());
  const pingTimes: number[][] = p.clients.map(() => []);
  p.clients.forEach((ws, i) => ws.on('ping', () => pingTimes[i]!.push(performance.now())));
  const start = performance.now();
  for (const ws of p.servers) heartbeat.watch(ws);
  // Until every socket has had two pings (a loaded machine only makes ticks late, never early).
  for (let waited = 0; pingTimes.some((times) => times.length < 2); waited += 20) {
    assert.ok(waited < 20_000, 'not every socket was pinged twice within 20 s');
    await new Promise((r) => setTimeout(r, 20));
  }
  // Once a period: a socket's second ping comes a whole round of ticks after its first.
  for (const times of pingTimes)
    assert.ok(times[1]! - times[0]! > periodMs / 2, `pinged again after ${times[1]! - times[0]!} ms`);
  // Spread: the first pings arrive over most of the first period, not in one burst.
  const first = pingTimes.map((times) => times[0]! - start).sort((a, b) => a - b);
  assert.ok(first.at(-1)! - first[0]! > periodMs / 2, `first pings within ${first.at(-1)! - first[0]!} ms`);
});

test('a socket that stops answering pings is terminated; the others stay', async (t) => {
  const periodMs = 200;
  const p = await pairs(20);
  const silent = await pairs(1, { autoPong: false });
  t.after(() => {
    p.close();
    silent.close();
  });
  const heartbeat = new Heartbeat(periodMs);
  t.after(() => heartbeat.close());
  let dead = 0;
  for (const ws of [...p.servers, ...silent.servers]) heartbeat.watch(ws, { onDead: () => dead++ });
  await once(silent.clients[0]!, 'close');
  await new Promise((r) => setTimeout(r, periodMs * 2));
  assert.equal(dead, 1);
  assert.ok(p.clients.every((ws) => ws.readyState === WebSocket.OPEN));
});

test('a socket exempted (paused by the relay) is not terminated for missing pongs', async (t) => {
  const periodMs = 100;
  const silent = await pairs(1, { autoPong: false });
  t.after(() => silent.close());
  const heartbeat = new Heartbeat(periodMs);
  t.after(() => heartbeat.close());
  heartbeat.watch(silent.servers[0]!, { exempt: () => true });
  await new Promise((r) => setTimeout(r, periodMs * 4));
  assert.equal(silent.clients[0]!.readyState, WebSocket.OPEN);
});
