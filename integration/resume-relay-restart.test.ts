// A session survives its relay being killed (SIGKILL) and started again on the same data dir,
// and a graceful restart (SIGTERM): real relay processes (`airlock-relay serve`), a real agent
// process and `airlock forward`. The download carries a checksum of every byte sent.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { listenOnLoopback, portOf as port, tearDown } from '@airlock/shared/testing';
import { repoRoot, startSystem, waitFor, type AgentProcess, type System } from './harness.js';
import { forwardStarted, type ForwardCli } from './support/forward-cli.js';
import { relayCli } from './support/relay-cli.js';
import { download, downloadServer } from './support/checked-download.js';

/** 1 GiB by default (about 10–30 s at loopback speed); AIRLOCK_TEST_RESUME_MB makes it smaller. */
const DOWNLOAD_BYTES = Number(process.env.AIRLOCK_TEST_RESUME_MB ?? 1024) * 1024 * 1024;

let sys: System;
let dataDir: string;
let relayPort: number;
let relay: ChildProcess | undefined;
let relayLog = '';
let forward: ForwardCli;
let agent: AgentProcess;
const source = downloadServer(DOWNLOAD_BYTES);

/** `airlock-relay serve` on the data dir and port the system's relay had; resolves once it listens. */
async function startRelayProcess(): Promise<ChildProcess> {
  const child = spawn(
    join(repoRoot, 'airlock-relay'),
    ['--data-dir', dataDir, 'serve', '--port', String(relayPort), '--log-level', 'info'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => ((out += d.toString()), (relayLog += d.toString())));
  child.stderr!.on('data', (d: Buffer) => (relayLog += d.toString()));
  await waitFor(
    () => out.includes('relay listening') || child.exitCode !== null,
    30_000,
    () => `relay did not start: ${relayLog.slice(-2000)}`,
  );
  assert.equal(child.exitCode, null, `relay exited: ${relayLog.slice(-2000)}`);
  return child;
}

async function stopRelay(signal: NodeJS.Signals): Promise<void> {
  const child = relay!;
  relay = undefined;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

async function vmOnline(): Promise<boolean> {
  const r = await sys.cli(['vms', '--json']);
  return r.code === 0 && /"online":\s*true/.test(r.stdout);
}

before(async () => {
  await listenOnLoopback(source.server);
  sys = await startSystem({ ports: [port(source.server)], noAgent: true });
  dataDir = dirname(sys.cliEnv.AIRLOCK_TEST_RELAY_DB!);
  relayPort = sys.relay.port;
  // The system's relay hands over to a relay process on the same data dir and port.
  await sys.relay.close();
  relay = await startRelayProcess();
  agent = await sys.startAgent();
  await waitFor(vmOnline, 30_000, () => 'the agent never came online');
  forward = await forwardStarted(sys.spawnCli(['forward', sys.vm, String(port(source.server)), '--json']), 1);
});

after(() =>
  tearDown('resume-relay-restart.test.ts', [
    ['airlock forward to stop', () => forward?.stop()],
    ['the relay process to stop', () => relay && stopRelay('SIGKILL')],
    ['the agent to stop', () => sys?.close()],
    ['the source to close', () => source.server.close()],
  ]),
);

for (const [how, signal] of [
  ['killed (SIGKILL)', 'SIGKILL'],
  ['stopped gracefully (SIGTERM)', 'SIGTERM'],
] as const)
  test(`the relay ${how} and started again mid-download: every byte arrives once, in order`, async () => {
    const cutAt = Math.floor(DOWNLOAD_BYTES / 3);
    let restarted: Promise<void> | undefined;
    const result = await download(forward.localPort(port(source.server)), (bytes) => {
      if (restarted || bytes < cutAt) return;
      restarted = (async () => {
        await stopRelay(signal);
        relay = await startRelayProcess();
      })();
    });
    await restarted;
    assert.ok(restarted, 'the relay was restarted mid-download');
    const story = () => `${forward.stderr()}\nrelay: ${relayLog.slice(-3000)}\nagent: ${agent.output().slice(-4000)}`;
    assert.equal(result.end, 'end', story());
    assert.equal(result.bytes, DOWNLOAD_BYTES);
    // Every stream the source sent, so a mismatch tells a second connection to the source (a
    // channel opened twice) from bytes lost, repeated or reordered within this one.
    const sent = await Promise.all(
      source.sent.map((p) => Promise.race([p, new Promise<string>((r) => setTimeout(() => r('unfinished'), 5000))])),
    );
    assert.equal(
      result.sha256,
      sent.at(-1),
      `${sent.length} streams sent; this download matches ${sent.indexOf(result.sha256) >= 0 ? `stream ${sent.indexOf(result.sha256) + 1}` : 'none'}; ${result.firstDifference ?? 'no difference from the pattern'}\n${story()}`,
    );
    assert.match(forward.stderr(), /resumed after/);
  });

test('the audit log tells what happened to the session: open, closed by the restart, resumed', async () => {
  const sid = /"sid":"([0-9a-f-]{36})"/.exec(relayLog)?.[1];
  assert.ok(sid, 'the relay logged the session id');
  const r = await relayCli(dataDir, ['audit', 'query', '--sid', sid, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const types = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; data: { reason?: string } });
  const seen = types.map((e) => e.type);
  assert.ok(seen.includes('session.open'), seen.join(' '));
  const closes = types.filter((e) => e.type === 'session.close');
  assert.ok(
    closes.some((e) => e.data.reason === 'relay restarted'),
    `a close "relay restarted": ${JSON.stringify(types)}`,
  );
  assert.ok(seen.includes('session.resume'), seen.join(' '));
  // Whatever happened last, the log ends with the session live again (resumed), not closed.
  assert.equal(seen.filter((t) => t === 'session.resume' || t === 'session.close').at(-1), 'session.resume');
});
