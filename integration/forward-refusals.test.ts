// What the user and the audit log are told when the agent cannot carry something: a forwarded
// port where nothing listens, the agent's limit of forwarded connections per session, and an
// sftp subsystem the VM cannot run. Real relay, agent and CLI processes.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { listenOnLoopback, portOf as port, streamEnd } from '@airlock/shared/testing';
import { startSystem, waitFor, type System } from './harness.js';
import { forwardStarted, type ForwardCli } from './support/forward-cli.js';

const LIMIT = 8;
const SFTP_PATH = '/nonexistent/sftp-server';

let sys: System;
let sink: Server;
const held: Socket[] = [];
let deadPort: number;
let forward: ForwardCli;

before(async () => {
  sink = createServer({ allowHalfOpen: true }, (s) => {
    held.push(s);
    s.on('error', () => {});
    s.on('end', () => s.end()); // closes when the client does, as servers do
    s.resume();
  });
  await listenOnLoopback(sink);
  const dead = createServer();
  deadPort = await listenOnLoopback(dead);
  await new Promise<void>((r) => dead.close(() => r()));
  sys = await startSystem({
    ports: [port(sink), deadPort],
    agentConfig: { maxForwardsPerSession: LIMIT, sftpServerPath: SFTP_PATH },
  });
  forward = await forwardStarted(sys.spawnCli(['forward', sys.vm, `${port(sink)}`, `${deadPort}`, '--json']), 2);
});

after(async () => {
  await forward?.stop();
  await sys?.close();
  sink?.close();
});

/** Opens `n` local connections to a forward at once; resolves how each ended (or 'open' if still open after `ms`). */
async function burst(localPort: number, n: number): Promise<{ socks: Socket[]; ends: Promise<string>[] }> {
  const socks = Array.from({ length: n }, () => connect({ host: '127.0.0.1', port: localPort, allowHalfOpen: true }));
  await Promise.all(socks.map((s) => once(s, 'connect')));
  return { socks, ends: socks.map((s) => streamEnd(s)) };
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

test('a port where nothing listens: each connection is reset, and the user is told once per burst', async () => {
  const { ends } = await burst(forward.localPort(deadPort), 10);
  assert.deepEqual(await Promise.all(ends), Array(10).fill('ECONNRESET'));
  const said = `nothing is listening on port ${deadPort} in ${sys.vm} (connection refused)`;
  const summary = `9 more connections to ${sys.vm}:${deadPort} failed the same way`;
  await waitFor(
    () => forward.stderr().includes(summary),
    10_000,
    () => `no summary line: ${forward.stderr()}`,
  );
  assert.equal(count(forward.stderr(), said), 1, forward.stderr());
});

test("at the agent's limit of forwarded connections per session the rest are reset, and the user is told once", async () => {
  const before = held.length;
  const n = LIMIT + 4;
  const { socks, ends } = await burst(forward.localPort(port(sink)), n);
  try {
    const outcomes = await Promise.all(
      ends.map((e) => Promise.race([e, new Promise<string>((r) => setTimeout(() => r('open'), 3000))])),
    );
    assert.equal(outcomes.filter((o) => o === 'open').length, LIMIT, outcomes.join(' '));
    assert.equal(outcomes.filter((o) => o === 'ECONNRESET').length, n - LIMIT, outcomes.join(' '));
    assert.equal(held.length - before, LIMIT, 'only the carried connections reached the VM');
    const said = `too many forwarded connections open on this session (limit ${LIMIT})`;
    await waitFor(
      () =>
        forward.stderr().includes(`${n - LIMIT - 1} more connections to ${sys.vm}:${port(sink)} failed the same way`),
      10_000,
      () => `no summary line: ${forward.stderr()}`,
    );
    assert.equal(count(forward.stderr(), said), 1, forward.stderr());
    const refusals = await sys.relay.store.audit.query({ type: 'session.channel_refused' });
    assert.ok(
      refusals.some((e) => JSON.stringify(e.data).includes(`limit ${LIMIT}`)),
      'the limit refusals are in the audit log',
    );
  } finally {
    for (const s of socks) s.destroy();
  }
  // The places come back: a new connection is carried again.
  await waitFor(
    async () => {
      const { socks: again, ends } = await burst(forward.localPort(port(sink)), 1);
      const r = await Promise.race([ends[0]!, new Promise<string>((res) => setTimeout(() => res('open'), 500))]);
      again[0]!.destroy();
      return r === 'open';
    },
    10_000,
    () => 'no connection carried after the burst',
  );
});

test('sftp on a VM without sftp-server: the user is told why, and the refusal is audited', async () => {
  const r = await sys.cli(['sftp-stdio', sys.vm]);
  assert.equal(r.code, 255);
  assert.match(r.stderr, new RegExp(`no sftp-server on this VM \\(looked for ${SFTP_PATH};`));
  assert.doesNotMatch(r.stderr, /check the agent log/);
  const sid = /\[session ([0-9a-f-]{36})\]/.exec(r.stderr)?.[1];
  assert.ok(sid, r.stderr);
  await waitFor(
    async () =>
      (await sys.relay.store.audit.query({ sid })).some(
        (e) => /channel_refused/.test(e.type) && JSON.stringify(e.data).includes(`looked for ${SFTP_PATH}`),
      ),
    10_000,
    () => 'no channel refusal for sftp in the audit log',
  );
});
