/**
 * `airlock doctor` against a real relay, a real agent process and real services "in the VM": each
 * diagnosis produced for real — all well, a port with nothing listening, a port the VM does not
 * allow, a VM without a grant, a skewed clock (faked at the doctor's clock seam), a TLS-inspecting
 * proxy in front of the relay, an offline agent, a relay that is down — through the real CLI
 * (text and --json, exit codes) and the engine in-process where a seam is needed.
 */
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { airlockPaths } from '@airlock/connect';
import { freePort, listenOnLoopback } from '@airlock/shared/testing';
import { runDoctor, type DoctorOptions } from '@airlock/connect/core/diagnostics/doctor';
import { DoctorReport, type DoctorCheck } from '@airlock/connect/core/diagnostics/doctor-report';
import { memorySecretCache } from './support/connect-app.js';
import { InterceptingProxy } from './support/intercepting-proxy.js';
import { startSystem, waitFor, type System } from './harness.js';

let sys: System;
let service: Server;
let up: number;
let down: number;

before(async () => {
  // "The service in the VM": answers and closes.
  service = createServer((s) => s.end('hello from the VM\n'));
  up = await listenOnLoopback(service);
  down = await freePort();
  sys = await startSystem({ ports: [up, down] });
  const other = await sys.relay.admin.createVm('test', 'other-vm', [up]);
  assert.ok(other.ok);
});

after(async () => {
  await sys?.close();
  service?.close();
});

/** The real CLI's JSON report, checked against the published schema, and its exit code. */
async function doctorJson(args: string[]): Promise<{ code: number | null; report: DoctorReport }> {
  const r = await sys.cli(['doctor', ...args, '--json'], { timeoutMs: 60_000 });
  const parsed = DoctorReport.safeParse(JSON.parse(r.stdout));
  assert.ok(parsed.success, `--json matches the schema: ${r.stdout}\n${r.stderr}`);
  return { code: r.code, report: parsed.data };
}

function engine(overrides: Partial<DoctorOptions> = {}): Promise<DoctorReport> {
  const cache = memorySecretCache();
  return runDoctor({
    paths: airlockPaths(sys.home),
    secretCache: () => cache,
    versions: { connect: 'test' },
    ...overrides,
  });
}

const find = (r: DoctorReport, check: DoctorCheck['check'], port?: number): DoctorCheck => {
  const c = r.checks.find((x) => x.check === check && (port === undefined || x.port === port));
  assert.ok(c, `no ${check}${port ? ` ${port}` : ''} check in ${JSON.stringify(r.checks, null, 1)}`);
  return c;
};
const names = (r: DoctorReport) => r.checks.map((c) => (c.port ? `${c.check}:${c.port}` : c.check));

test('all well: every check passes in order, timed, with the session it used; exit 0', async () => {
  const text = await sys.cli(['doctor', sys.vm, '--port', String(up)], { timeoutMs: 60_000 });
  assert.equal(text.code, 0, text.stdout + text.stderr);
  assert.match(text.stdout, /^airlock doctor — Connect \d+\.\d+\.\d+, Node 22\./);
  for (const line of [
    /✓ config +enrolled as alice with https:\/\/127\.0\.0\.1:\d+/,
    /✓ relay dns +127\.0\.0\.1 is an address/,
    /✓ relay tcp +TCP connection to 127\.0\.0\.1:\d+/,
    /✓ relay tls +TLS handshake done: certificate "CN=/,
    /✓ relay pin +127\.0\.0\.1:\d+ presents the key pinned at enrollment \(sha256\/\//,
    /✓ relay health +the relay answers and is ready/,
    /✓ clock +this computer’s clock is within \d+ ms of the relay’s/,
    /✓ login +logged in as alice until 20.* \(\d+ min left\); the relay accepts the login/,
    /^VM test-vm$/m,
    /✓ grant +you may use VM "test-vm"/,
    /✓ agent +VM "test-vm" is online since 20/,
    new RegExp(`✓ port ${up} +port ${up} is allowed for you on VM "test-vm"`),
    /✓ ticket +the relay issued session [0-9a-f-]{36} \(a ticket for ports/,
    /✓ data socket +the relay accepted the ticket \(\d+ ms\) and paired the data socket with test-vm’s agent/,
    /✓ ssh +the SSH handshake with the agent is done/,
    /✓ host key +test-vm presented the host key the relay registered for it \(SHA256:\S+; trust: relay only — no organisation root pinned\)/,
    /✓ ssh auth +the agent accepted this login’s key/,
    new RegExp(
      `✓ forward ${up} +port ${up} in test-vm: a real connection through the agent works \\(the service answered\\)`,
    ),
    /airlock doctor: all checks passed/,
  ])
    assert.match(text.stdout, line);
  assert.match(text.stdout, /\(\d+ ms\)$/m, 'each line says how long it took');
  assert.equal(
    text.stderr.match(/no organisation root pinned \(u1 enrollment\)/g)?.length,
    1,
    'the trust notice, once',
  );
  const sid = /sessions used: ([0-9a-f-]{36})/.exec(text.stdout)?.[1];
  assert.ok(sid, 'the session id is printed');
  const detail = await sys.relay.store.sessions.get(sid);
  assert.equal(detail?.user, 'alice', 'the relay knows the session by the same id');

  const { code, report } = await doctorJson([sys.vm, '--port', String(up)]);
  assert.equal(code, 0);
  assert.equal(report.ok, true);
  assert.deepEqual(names(report), [
    'config',
    'key_file',
    'permissions',
    'keychain',
    'relay_dns',
    'relay_tcp',
    'relay_tls',
    'relay_pin',
    'relay_health',
    'clock',
    'login',
    'grant',
    'agent',
    `port:${up}`,
    'ticket',
    'data_socket',
    'ssh',
    'host_key',
    'ssh_auth',
    `forward:${up}`,
  ]);
  // The keychain may or may not work on this machine: a warning at worst, never a failure.
  assert.notEqual(find(report, 'keychain').status, 'fail');
  assert.equal(report.login?.state, 'valid');
  assert.ok((report.login?.secondsLeft ?? 0) > 25 * 60);
  assert.equal(report.relay?.ready, true);
  assert.ok(Math.abs(report.relay?.clockSkewMs ?? 1e9) < 5000);
  assert.deepEqual(
    report.vms[0]?.ports.map((p) => [p.port, p.reachable]),
    [[up, true]],
  );
  assert.equal(report.vms[0]?.agentOnline, true);
  assert.equal(report.sessionIds.length, 1);
  assert.equal(find(report, 'host_key').sessionId, report.sessionIds[0]);
  assert.deepEqual(report.stopped, []);
});

test('a port allowed but nothing listening: "the service in the VM is not listening", told apart; exit 1', async () => {
  const { code, report } = await doctorJson([sys.vm]);
  assert.equal(code, 1);
  assert.equal(report.ok, false);
  assert.equal(find(report, 'forward', up).status, 'pass');
  const silent = find(report, 'forward', down);
  assert.equal(silent.status, 'fail');
  assert.equal(silent.code, 'service_not_listening');
  assert.match(
    silent.message,
    new RegExp(
      `nothing is listening on port ${down} inside test-vm: the agent’s connection to 127\\.0\\.0\\.1:${down} was refused`,
    ),
  );
  assert.match(silent.hint ?? '', /start it listening on 127\.0\.0\.1/);
  assert.deepEqual(
    report.vms[0]?.ports.map((p) => [p.port, p.reachable, p.code]),
    // In port order, as the grant lists them (the two ports are free ports, either may be lower).
    (
      [
        [up, true, undefined],
        [down, false, 'service_not_listening'],
      ] as const
    ).toSorted((a, b) => a[0] - b[0]),
  );
  for (const c of ['ticket', 'data_socket', 'ssh', 'host_key', 'ssh_auth'] as const)
    assert.equal(find(report, c).status, 'pass');

  const text = await sys.cli(['doctor', sys.vm], { timeoutMs: 60_000 });
  assert.equal(text.code, 1);
  assert.match(text.stdout, new RegExp(`✗ forward ${down} +nothing is listening on port ${down} inside test-vm`));
  assert.match(text.stdout, /→ the service in the VM is not running/);
  assert.match(text.stdout, /airlock doctor: 1 problem found/);
});

test('a port the VM does not allow: said by the relay, not tried; the session checks still run', async () => {
  const { code, report } = await doctorJson([sys.vm, '--port', '9']);
  assert.equal(code, 1);
  const port = find(report, 'port', 9);
  assert.equal(port.status, 'fail');
  assert.equal(port.code, 'port_not_allowed_by_vm');
  assert.match(port.message, /VM "test-vm" does not allow port 9/);
  assert.equal(find(report, 'ssh_auth').status, 'pass');
  assert.equal(report.checks.filter((c) => c.check === 'forward').length, 0, 'a refused port is not connected to');
});

test('a VM without a grant: the chain for it stops at the grant', async () => {
  const { code, report } = await doctorJson(['other-vm']);
  assert.equal(code, 1);
  const grant = find(report, 'grant');
  assert.equal(grant.status, 'fail');
  assert.equal(grant.code, 'no_grant');
  assert.equal(grant.vm, 'other-vm');
  assert.match(grant.message, /there is no VM "other-vm" that you may use/);
  assert.deepEqual(report.stopped, [
    { after: 'grant', vm: 'other-vm', reason: 'no session can be opened to other-vm without a grant' },
  ]);
  assert.ok(!report.checks.some((c) => c.check === 'ticket'), 'no session is tried');
  assert.deepEqual(report.sessionIds, []);
});

test('a skewed clock (faked at the doctor’s clock): said with the size and side; the rest goes on', async () => {
  const report = await engine({ vm: sys.vm, port: up, now: () => Date.now() + 120_000 });
  const clock = find(report, 'clock');
  assert.equal(clock.status, 'fail');
  assert.equal(clock.code, 'clock_skew');
  assert.match(clock.message, /this computer’s clock is 1[12]\d s ahead of the relay’s/);
  assert.match(clock.hint ?? '', /automatic time/);
  assert.ok((report.relay?.clockSkewMs ?? 0) < -115_000);
  assert.equal(find(report, 'login').status, 'pass', 'a skew is reported, not a reason to stop');
  assert.equal(find(report, 'forward', up).status, 'pass');
  assert.equal(report.ok, false);
});

test('a TLS-inspecting proxy in front of the relay: its subject and issuer named, and nothing sent to it', async (t) => {
  const proxy = await InterceptingProxy.start(Number(new URL(sys.relay.url).port));
  t.after(() => proxy.close());
  // This machine reaches the relay through the proxy: the enrolled URL leads there.
  const home = join(sys.dir, 'connect-behind-proxy');
  cpSync(sys.home, home, { recursive: true });
  const configFile = join(home, 'config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as { relayUrl: string };
  writeFileSync(configFile, JSON.stringify({ ...config, relayUrl: `https://127.0.0.1:${proxy.port}` }));
  const cache = memorySecretCache();
  const report = await runDoctor({
    paths: airlockPaths(home),
    secretCache: () => cache,
    versions: { connect: 'test' },
  });
  const pin = find(report, 'relay_pin');
  assert.equal(pin.status, 'fail');
  assert.equal(pin.code, 'pin_mismatch');
  assert.ok(
    pin.message.includes(`certificate "${InterceptingProxy.subject}", issued by "${InterceptingProxy.issuer}"`),
    pin.message,
  );
  assert.match(pin.message, /expected sha256\/\/.*nothing was sent to it/);
  assert.match(pin.hint ?? '', /TLS-inspecting proxy .* ask your IT to exempt 127\.0\.0\.1 from TLS inspection/);
  assert.equal(report.relay?.presented?.issuer, InterceptingProxy.issuer);
  assert.deepEqual(report.stopped, [
    { after: 'relay_pin', reason: 'nothing may be sent to a relay whose key does not match the pin' },
  ]);
  assert.deepEqual(names(report).slice(-2), ['relay_tls', 'relay_pin'], 'nothing after the pin is tried');
  assert.equal(proxy.bytesFromClients, 0, 'not a byte of application data went to the proxy');
});

test('an offline agent: offline since when; the port still told; no session tried', async () => {
  await sys.agent.stop();
  await waitFor(
    () => !sys.relay.isAgentOnline(sys.vm),
    20_000,
    () => 'the relay never saw the agent go',
  );
  const { code, report } = await doctorJson([sys.vm, '--port', String(up)]);
  assert.equal(code, 1);
  assert.deepEqual(
    names(report).slice(-3),
    ['grant', 'agent', `port:${up}`],
    'the port is told, the session not tried',
  );
  assert.equal(find(report, 'port', up).status, 'pass');
  const agent = find(report, 'agent');
  assert.equal(agent.status, 'fail');
  assert.equal(agent.code, 'agent_offline');
  assert.match(agent.message, /VM "test-vm" is offline since 20\d\d-/);
  assert.equal(report.vms[0]?.agentOnline, false);
  assert.deepEqual(report.stopped, [
    { after: 'agent', vm: 'test-vm', reason: 'no session reaches test-vm while its agent is offline' },
  ]);
  assert.ok(!report.checks.some((c) => c.check === 'ticket'));
});

test('a relay that is down: refused at TCP, and the chain stops there', async () => {
  const port = new URL(sys.relay.url).port;
  await sys.relay.close();
  const { code, report } = await doctorJson([]);
  assert.equal(code, 1);
  assert.equal(find(report, 'relay_dns').status, 'pass');
  const tcp = find(report, 'relay_tcp');
  assert.equal(tcp.status, 'fail');
  assert.equal(tcp.code, 'tcp_refused');
  assert.equal(tcp.message, `127.0.0.1:${port} refused the connection: nothing listens there`);
  assert.match(tcp.hint ?? '', /the relay is down, or the address is wrong/);
  assert.deepEqual(report.stopped, [{ after: 'relay_tcp', reason: 'no TCP connection to the relay' }]);
  assert.equal(names(report).at(-1), 'relay_tcp');
  const text = await sys.cli(['doctor'], { timeoutMs: 60_000 });
  assert.equal(text.code, 1);
  assert.match(text.stdout, /✗ relay tcp +127\.0\.0\.1:\d+ refused the connection/);
  assert.match(text.stdout, /— stopped after relay tcp: no TCP connection to the relay/);
});
