/**
 * `airlock-agent status` against a real agent process and a real relay: what it says while all
 * is well, with a session open, with a service not listening, with another TLS key presented,
 * with the relay gone, and with the agent stopped or killed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { readStatusFile, type AgentStatusReport } from '@airlock/agent';
import { repoRoot, startSystem, waitFor } from './harness.js';

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Runs the real `airlock-agent status` with the agent's own configuration file. */
function status(
  configFile: string,
  env: Record<string, string> = {},
  json = true,
): Promise<{ code: number | null; report: AgentStatusReport; text: string }> {
  const child = spawn(
    join(repoRoot, 'airlock-agent'),
    ['status', '--config', configFile, '--timeout', '3000', ...(json ? ['--json'] : [])],
    { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`airlock-agent status timed out: ${err}`));
    }, 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      try {
        resolve({ code, report: json ? (JSON.parse(out) as AgentStatusReport) : ({} as AgentStatusReport), text: out });
      } catch {
        reject(new Error(`not JSON: ${out}\n${err}`));
      }
    });
  });
}

const check = (r: AgentStatusReport, name: string, port?: number) => {
  const c = r.checks.find((x) => x.check === name && (port === undefined || x.port === port));
  assert.ok(c, `no ${name} check in ${JSON.stringify(r.checks)}`);
  return c;
};

test('airlock-agent status: enrollment, pinned relay and its clock, control link, sessions, ports; then another key, the relay gone, the agent stopped and killed', async (t) => {
  const listening: Server = createServer((s) => s.end()).listen(0, '127.0.0.1');
  await once(listening, 'listening');
  const up = (listening.address() as AddressInfo).port;
  const down = await freePort();
  t.after(() => listening.close());
  const sys = await startSystem({ ports: [up, down] });
  t.after(() => sys.close());
  const configFile = join(sys.dir, 'agent-0.json');
  const statusFile = join(sys.dir, 'agent-state', 'status.json');
  await waitFor(
    async () => {
      const r = await readStatusFile(statusFile);
      return r.ok && r.status?.link.state === 'online';
    },
    20_000,
    () => `the agent never wrote an online status:\n${sys.agent.output()}`,
  );
  assert.equal(statSync(statusFile).mode & 0o777, 0o600, 'the status file is the agent user’s alone');

  const well = await status(configFile);
  assert.equal(well.code, 1, 'one policy port has no listener');
  const r = well.report;
  assert.equal(r.ok, false);
  assert.deepEqual(r.enrollment && { vm: r.enrollment.vm, relayUrl: r.enrollment.relayUrl }, {
    vm: sys.vm,
    relayUrl: sys.relay.url,
  });
  assert.equal(check(r, 'enrollment').ok, true);
  assert.equal(check(r, 'relay').ok, true);
  assert.match(check(r, 'relay').message, /presents the pinned key \(sha256\/\//);
  assert.equal(r.relay?.pinOk, true);
  assert.equal(check(r, 'clock').ok, true);
  assert.ok(Math.abs(r.relay?.clockSkewMs ?? 1e9) < 5000);
  assert.equal(check(r, 'agent').ok, true);
  assert.equal(r.agent?.running, true);
  assert.equal(check(r, 'link').ok, true);
  assert.match(check(r, 'link').message, /control link to the relay is up since 20/);
  assert.equal(r.link?.state, 'online');
  assert.deepEqual(r.sessions, []);
  assert.equal(check(r, 'port', up).ok, true);
  const closedPort = check(r, 'port', down);
  assert.equal(closedPort.ok, false);
  assert.match(closedPort.message, new RegExp(`nothing listens on 127\\.0\\.0\\.1:${down}`));
  assert.match(closedPort.hint ?? '', /start the service/);
  assert.deepEqual(
    r.ports.map((p) => [p.port, p.listening]),
    [
      [up, true],
      [down, false],
    ],
  );

  const text = await status(configFile, {}, false);
  assert.match(text.text, /^airlock-agent status: PROBLEMS FOUND/);
  assert.match(text.text, new RegExp(`✗ port +port ${down}: nothing listens`));
  assert.match(text.text, /✓ link +control link to the relay is up/);

  // A session as the user opens it: the agent lists it with its id and user.
  const exec = sys.spawnCli(['exec', sys.vm, '--', 'sleep', '5']);
  t.after(() => void exec.kill('SIGKILL'));
  await waitFor(
    async () => {
      const s = await readStatusFile(statusFile);
      return s.ok && (s.status?.sessions.length ?? 0) === 1;
    },
    20_000,
    () => 'the session never showed in the status file',
  );
  const withSession = (await status(configFile)).report;
  assert.equal(withSession.sessions.length, 1);
  assert.equal(withSession.sessions[0]!.user, 'alice');
  const live = await sys.relay.store.sessions.listLive();
  assert.equal(withSession.sessions[0]!.sid, live[0]?.id, 'the same session id as the relay’s');
  assert.match(check(withSession, 'sessions').message, /^1 session\(s\) open: [0-9a-f-]{36} \(alice, since 20/);
  await once(exec, 'exit');

  // The relay presents another key than the pinned one (as a TLS-inspecting proxy would).
  const otherPin = `sha256//${Buffer.alloc(32, 7).toString('base64')}`;
  const mitm = (await status(configFile, { AIRLOCK_RELAY_PIN: otherPin })).report;
  const relayCheck = check(mitm, 'relay');
  assert.equal(relayCheck.ok, false);
  assert.match(relayCheck.message, /presents another key than the pinned one: sha256\/\/.* \(certificate "CN=/);
  assert.match(relayCheck.message, /expected sha256\/\/BwcH/);
  assert.match(relayCheck.hint ?? '', /TLS-inspecting proxy/);
  assert.equal(mitm.relay?.pinOk, false);
  assert.equal(mitm.relay?.presented?.pin, sys.relay.tls.pin);

  // The relay goes away: the link is down with its reason, the relay unreachable.
  await sys.relay.close();
  await waitFor(
    async () => {
      const s = await readStatusFile(statusFile);
      return s.ok && s.status?.link.state !== 'online' && !!s.status?.link.lastError;
    },
    20_000,
    () => 'the link never went down in the status file',
  );
  const noRelay = (await status(configFile)).report;
  assert.equal(check(noRelay, 'relay').ok, false);
  assert.match(check(noRelay, 'relay').message, /cannot reach the relay: .*refused the connection/);
  assert.equal(check(noRelay, 'link').ok, false);
  assert.match(check(noRelay, 'link').message, /control link to the relay is down since 20.*: /);
  assert.ok(noRelay.link?.lastError?.reason);

  // Stopped on purpose (SIGTERM), then a second agent killed outright.
  await sys.agent.stop();
  const stopped = (await status(configFile)).report;
  assert.equal(stopped.agent?.running, false);
  assert.match(check(stopped, 'agent').message, /the agent is not running: it stopped at 20/);
  const second = await sys.startAgent();
  await waitFor(
    async () => {
      const s = await readStatusFile(statusFile);
      return s.ok && s.status?.link.state !== 'closed';
    },
    20_000,
    () => `the second agent never wrote its status:\n${second.output()}`,
  );
  const before = await readStatusFile(statusFile);
  const pid = before.ok ? before.status?.pid : undefined;
  assert.equal(pid, second.child.pid, 'the status file names the agent process');
  second.child.kill('SIGKILL');
  await once(second.child, 'exit');
  const killed = (await status(configFile)).report;
  assert.equal(killed.agent?.running, false);
  assert.match(
    check(killed, 'agent').message,
    new RegExp(`its process ${pid} is gone without stopping .* it may have crashed`),
  );
});

test('airlock-agent\'s usage errors exit 2 with a usage hint, apart from status\'s 1 for "problems found"', async () => {
  const run = async (args: string[]) => {
    const child = spawn(join(repoRoot, 'airlock-agent'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const [code] = (await once(child, 'close')) as [number | null];
    return { code, err };
  };
  for (const args of [['--bogus'], ['status', 'extra'], ['enroll'], ['status', '--timeout', 'soon']]) {
    const r = await run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, /error|--timeout/, args.join(' '));
    assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
  }
  assert.match((await run(['--bogus'])).err, /^error: unknown option '--bogus'\n\(add --help for usage\)/);
  assert.equal((await run(['--help'])).code, 0);
  // A config file that is not JSON is quoted in the error: never its terminal escapes.
  const dir = mkdtempSync(join(tmpdir(), 'airlock-agent-usage-'));
  try {
    writeFileSync(join(dir, 'agent.json'), '\x1b]0;owned\x07\x1b[2J');
    const bad = await run(['status', '--config', join(dir, 'agent.json')]);
    assert.equal(bad.code, 2, bad.err);
    assert.match(bad.err, /is not valid JSON/);
    assert.ok(!bad.err.includes('\x1b') && !bad.err.includes('\x07'), 'no control characters on the terminal');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
