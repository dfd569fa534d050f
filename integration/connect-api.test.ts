// The Connect API (what the desktop app and browser mode call) against a real relay, a real agent
// process and a real PTY: enrollment, login, the VM list, terminals, forwards, RDP, the inline
// re-login that keeps what is open, and failures with their next step.
import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Server } from 'node:net';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { portOf, sendAndHalfClose, startDigestService, streamEnd, within } from '@airlock/shared/testing';
import { nodePlatform } from '@airlock/connect/api/service/platform';
import { relayHttpsFetch } from '@airlock/connect';
import { TEST_PASSWORD, startSystem, waitFor, type AgentProcess, type System } from './harness.js';
import { authenticator, startConnectApp, type ConnectApp } from './support/connect-app.js';

const RDP_PORT = 3389;
let sys: System;
let digest: Server;
let dir: string;
let app: ConnectApp;
let codes: ReturnType<typeof authenticator>;
/** Where the stand-in RDP client writes what it was started with. */
let rdpLog: string;
/** The agent running now (tests restart it). */
let agent: AgentProcess;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'airlock-api-'));
  digest = await startDigestService();
  sys = await startSystem({ ports: [portOf(digest), RDP_PORT] });
  agent = sys.agent;
  // A stand-in for FreeRDP on PATH: the real launch path runs it (detached) with the .rdp file.
  const bin = join(dir, 'bin');
  rdpLog = join(dir, 'xfreerdp.log');
  mkdirSync(bin);
  // It writes the file whole and then names it: the test reads it as soon as it is there.
  writeFileSync(
    join(bin, 'xfreerdp'),
    `#!/bin/sh\nprintf '%s\\n' "$@" > ${JSON.stringify(rdpLog)}.part && /bin/mv ${JSON.stringify(rdpLog)}.part ${JSON.stringify(rdpLog)}\n`,
  );
  chmodSync(join(bin, 'xfreerdp'), 0o755);
  app = startConnectApp(dir, { platform: { ...nodePlatform({ ...process.env, PATH: bin }), os: 'linux' } });
});

after(async () => {
  await app?.close();
  await sys?.close();
  digest?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('enroll in the app: relay and pin shown, password rules, TOTP as data, a wrong code tried again', async () => {
  const created = await sys.relay.admin.createUser('test', 'carol');
  assert.ok(created.ok);
  assert.ok(
    (await sys.relay.admin.putGrant('test', { user: 'carol', vm: sys.vm, ports: [portOf(digest), RDP_PORT] })).ok,
  );

  assert.deepEqual(await app.must('app.state', {}), { login: { state: 'not_enrolled' } });
  const started = await app.must('enroll.start', {
    relayUrl: sys.relay.url,
    // Pasted with a line break and spaces: ignored.
    code: created.value.enrollment.code.replace(/^(.{20})/, '$1 \n'),
    deviceName: 'carol laptop',
  });
  assert.equal(started.relayUrl, sys.relay.url);
  assert.match(started.relayPin, /^sha256\/\/[A-Za-z0-9+/]+=*$/);
  assert.equal(started.deviceName, 'carol laptop');
  assert.deepEqual(started.passwordRules, { minLength: 8 });

  const mismatch = await app.call('enroll.setPassword', {
    enrollmentId: started.enrollmentId,
    password: TEST_PASSWORD,
    repeat: TEST_PASSWORD + '!',
  });
  assert.ok(!mismatch.ok && mismatch.error.code === 'password_mismatch');
  const weak = await app.call('enroll.setPassword', {
    enrollmentId: started.enrollmentId,
    password: 'short',
    repeat: 'short',
  });
  assert.ok(!weak.ok && weak.error.code === 'password_rejected');
  assert.match(weak.error.message, /at least 8 characters/);

  const set = await app.must('enroll.setPassword', {
    enrollmentId: started.enrollmentId,
    password: TEST_PASSWORD,
    repeat: TEST_PASSWORD,
    remember: true,
  });
  assert.equal(set.user, 'carol');
  assert.ok(set.totp);
  assert.ok(set.totp.qr.modules.length === set.totp.qr.size && set.totp.qr.size >= 21);
  assert.match(set.totp.uri, /^otpauth:\/\/totp\//);
  codes = authenticator(set.totp.secret);

  const wrong = await app.call('enroll.confirm', { enrollmentId: started.enrollmentId, totp: '000000' });
  assert.ok(!wrong.ok);
  assert.equal(wrong.error.code, 'enrollment_failed');
  assert.equal(wrong.error.retryable, true);
  assert.equal(wrong.error.action, 'next_totp_code');
  const enrolled = await app.must('enroll.confirm', { enrollmentId: started.enrollmentId, totp: await codes.next() });
  assert.equal(enrolled.user, 'carol');
  assert.equal(enrolled.remembered, true);
  assert.equal(statSync(join(app.home, 'user-key.json')).mode & 0o777, 0o600);
  assert.deepEqual(await app.must('login.state', {}), { state: 'logged_out', user: 'carol', relayUrl: sys.relay.url });
});

test('log in: a wrong code, then password and code; the time left is known and told', async () => {
  const bad = await app.call('login.submit', { password: 'not my password', totp: '123456' });
  assert.ok(!bad.ok);
  assert.equal(bad.error.code, 'wrong_password');
  const loggedIn = await app.must('login.submit', { password: TEST_PASSWORD, totp: await codes.next() });
  assert.equal(loggedIn.user, 'carol');
  assert.equal(loggedIn.unlockedWith, 'password');
  assert.ok(Date.parse(loggedIn.expiresAt) > Date.now() + 25 * 60_000);
  const changed = await app.event('login.changed', (e) => e.login.state === 'logged_in');
  assert.ok(changed.login.state === 'logged_in' && changed.login.expiresAt === loggedIn.expiresAt);
});

/** Another app on the logged-in home, noting each path it asks the relay for. */
function secondAppOnTheSameHome(home = app.home): { second: ConnectApp; asked: string[]; answered: string[] } {
  const asked: string[] = [];
  const answered: string[] = [];
  const second = startConnectApp(dir, {
    home,
    fetch: async (url, init) => {
      const path = new URL(url).pathname;
      asked.push(path);
      const response = await relayHttpsFetch(url, init);
      answered.push(path);
      return response;
    },
  });
  return { second, asked, answered };
}

/** The first watch answers with the VM, and the relay was asked for the list once only. */
async function firstWatchTakesTheEarlyList(second: ConnectApp, asked: string[], once: string): Promise<void> {
  const { vms } = await second.must('vms.watch', {});
  assert.deepEqual(
    vms.map((v) => v.id),
    [sys.vm],
  );
  assert.deepEqual(
    asked.filter((p) => p === '/api/v1/vms'),
    ['/api/v1/vms'],
    once,
  );
}

test('app start: the VM list is asked for with the app state, and the first watch uses that answer', async () => {
  const { second, asked } = secondAppOnTheSameHome();
  try {
    const state = await second.must('app.state', {});
    assert.equal(state.login.state, 'logged_in');
    // Before any watch: the relay is asked while the app renders its first screen.
    await waitFor(
      () => asked.includes('/api/v1/vms'),
      10_000,
      () => `app.state did not ask for the VM list: ${asked.join(' ')}`,
    );
    await firstWatchTakesTheEarlyList(second, asked, 'one list from the relay, asked for at app.state');
    // Used once: a later watch asks the relay again.
    await second.must('vms.watch', {});
    assert.equal(asked.filter((p) => p === '/api/v1/vms').length, 2);
  } finally {
    await second.close();
  }
});

test('app start: a warm-up asks for the VM list before any window does; app.state and the first watch use it', async () => {
  const { second, asked } = secondAppOnTheSameHome();
  try {
    void second.service.warmUp();
    await waitFor(
      () => asked.includes('/api/v1/vms'),
      10_000,
      () => `the warm-up did not ask for the VM list: ${asked.join(' ')}`,
    );
    assert.equal((await second.must('app.state', {})).login.state, 'logged_in');
    await firstWatchTakesTheEarlyList(
      second,
      asked,
      "one list from the relay: the warm-up's, not asked for again at app.state",
    );
  } finally {
    await second.close();
  }
});

test('app start: the warm-up never asks for a login; the first watch asks for the list again, and may', async () => {
  // A copy of the logged-in home whose saved token the relay refuses, though it has not expired
  // here (as after the relay's signing key changed).
  const home = mkdtempSync(join(dir, 'refused-home-'));
  cpSync(app.home, home, { recursive: true });
  const sessionFile = join(home, 'session.json');
  const saved = JSON.parse(readFileSync(sessionFile, 'utf8')) as { accessToken: string };
  const token = saved.accessToken;
  const tampered = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');
  writeFileSync(sessionFile, JSON.stringify({ ...saved, accessToken: tampered }), { mode: 0o600 });
  const { second, answered } = secondAppOnTheSameHome(home);
  try {
    // Done once its list is had or refused; a warm-up that asked for a login would wait here for
    // an answer nobody gives.
    await within(second.service.warmUp(), 10_000, 'the warm-up (it would wait for a login)');
    assert.ok(answered.includes('/api/v1/vms'), `the warm-up did not ask for the VM list: ${answered.join(' ')}`);
    assert.deepEqual(
      second.events.filter((e) => e.type === 'login.required'),
      [],
      'the warm-up asked for a login before any window could answer',
    );
    // Valid by its own clock, but refused: no time left is shown on it.
    assert.equal((await second.must('app.state', {})).login.state, 'expired');
    const watching = second.call('vms.watch', {});
    const asked = await second.event('login.required');
    assert.equal(asked.reason, 'refused');
    await second.must('login.cancel', {});
    const watched = await watching;
    assert.ok(!watched.ok && watched.error.code === 'login_required', JSON.stringify(watched));
    // Declined: what needs a login next fails at once rather than opening the form again.
    const before = second.events.filter((e) => e.type === 'login.required').length;
    const again = await within(second.call('vms.watch', {}), 10_000, 'a watch after the login was declined');
    assert.ok(!again.ok && again.error.code === 'login_required', JSON.stringify(again));
    assert.equal(second.events.filter((e) => e.type === 'login.required').length, before);
    // A login saved since (here: another token, as `airlock login` would leave) ends that: when the
    // relay refuses this one too, the person is asked again.
    writeFileSync(sessionFile, JSON.stringify({ ...saved, accessToken: tampered + 'X' }), { mode: 0o600 });
    const seen = new Set(second.events);
    const watchingAgain = second.call('vms.watch', {});
    const askedAgain = await second.event('login.required', (e) => !seen.has(e));
    assert.equal(askedAgain.reason, 'refused');
    await second.must('login.cancel', {});
    assert.ok(!(await watchingAgain).ok);
  } finally {
    await second.close();
  }
});

test('the VM list: online, ports with names, the grant; watched live', async () => {
  const { vms, trust } = await app.must('vms.watch', {});
  assert.equal(trust, 'relay-only', 'enrolled with a u1 code: the app shows the no-root notice');
  assert.deepEqual(vms, [
    {
      id: sys.vm,
      online: true,
      ports: [
        { port: portOf(digest), name: null, web: false },
        { port: RDP_PORT, name: 'RDP', web: false },
      ].sort((a, b) => a.port - b.port),
      grantExpiresAt: null,
      certificate: { state: 'relay-only' },
    },
  ]);
  await agent.stop();
  const offline = await app.event('vms.changed', (e) => e.vms[0]?.online === false);
  assert.equal(offline.vms[0]!.id, sys.vm);
  const opened = await app.call('terminal.open', { vm: sys.vm, cols: 80, rows: 24 });
  assert.ok(!opened.ok);
  assert.equal(opened.error.code, 'vm_offline');
  assert.equal(opened.error.action, 'start_vm');
  agent = await sys.startAgent();
  await app.event(
    'vms.changed',
    (e) => e.vms[0]?.online === true && app.events.indexOf(e) > app.events.indexOf(offline),
  );
  await app.must('vms.unwatch', {});
});

/** The output of `terminalId` so far, as text. */
function outputOf(terminalId: string): string {
  return app.events
    .filter((e) => e.type === 'terminal.output' && e.terminalId === terminalId)
    .map((e) => Buffer.from((e as { data: Uint8Array }).data).toString('utf8'))
    .join('');
}

async function outputMatches(terminalId: string, re: RegExp): Promise<void> {
  await app.event('terminal.output', () => re.test(outputOf(terminalId)));
}

test('terminals: a real shell, typed into, resized, two at once, and how each ended', async () => {
  const a = await app.must('terminal.open', { vm: sys.vm, cols: 100, rows: 30 });
  const b = await app.must('terminal.open', { vm: sys.vm, cols: 80, rows: 24 });
  assert.notEqual(a.sessionId, b.sessionId, 'each tab has its own session');
  await app.must('terminal.input', { terminalId: a.terminalId, data: 'echo api-mark-$((40 + 2))\n' });
  await outputMatches(a.terminalId, /api-mark-42/);
  await app.must('terminal.resize', { terminalId: a.terminalId, cols: 132, rows: 43 });
  await app.must('terminal.input', { terminalId: a.terminalId, data: 'stty size\n' });
  await outputMatches(a.terminalId, /43 132/);
  await app.must('terminal.input', { terminalId: b.terminalId, data: 'echo other-tab\n' });
  await outputMatches(b.terminalId, /other-tab/);
  assert.doesNotMatch(outputOf(a.terminalId), /other-tab/);
  await app.must('terminal.input', { terminalId: a.terminalId, data: 'exit 3\n' });
  const ended = await app.event('terminal.ended', (e) => e.terminalId === a.terminalId);
  assert.deepEqual(ended.end, { kind: 'exited', exitStatus: 3 });
  const gone = await app.call('terminal.input', { terminalId: a.terminalId, data: 'x' });
  assert.ok(!gone.ok && gone.error.code === 'not_found');
  await app.must('terminal.close', { terminalId: b.terminalId });
  const closed = await app.event('terminal.ended', (e) => e.terminalId === b.terminalId);
  assert.deepEqual(closed.end, { kind: 'closed' });
});

test('forwards: automatic local port, bytes and connections as events, a port not granted refused', async () => {
  const f = await app.must('forward.add', { vm: sys.vm, remotePort: portOf(digest) });
  assert.equal(f.localAddress, `127.0.0.1:${f.localPort}`);
  assert.equal(f.state, 'listening');
  assert.equal(f.url, null);
  const payload = Buffer.alloc(50_000, 7);
  const reply = await sendAndHalfClose(f.localPort, payload);
  assert.match(reply, /^50000:/);
  const counted = await app.event(
    'forward.changed',
    (e) => e.forward.forwardId === f.forwardId && e.forward.bytesOut === payload.length,
  );
  assert.equal(counted.forward.bytesIn, Buffer.byteLength(reply));

  // The agent restarts: the forward says it is reconnecting, then listens again on the same port.
  const mark = app.events.length;
  const after = (e: object) => app.events.indexOf(e as never) >= mark;
  await agent.stop();
  const lost = await app.event('forward.changed', (e) => after(e) && e.forward.state === 'reconnecting');
  // Why, with the session that was lost (how the agent said goodbye decides the code).
  assert.equal(lost.forward.failure?.sessionId, f.sessionId);
  assert.equal(lost.forward.failure?.action, 'retry_check_logs');
  agent = await sys.startAgent();
  const back = await app.event('forward.changed', (e) => after(e) && e.forward.state === 'listening', 60_000);
  assert.equal(back.forward.localPort, f.localPort);
  assert.notEqual(back.forward.sessionId, f.sessionId);
  assert.match(await sendAndHalfClose(f.localPort, payload), /^50000:/);

  const refused = await app.call('forward.add', { vm: sys.vm, remotePort: 22 });
  assert.ok(!refused.ok);
  assert.equal(refused.error.code, 'port_not_allowed');
  assert.equal(refused.error.action, 'choose_allowed_port');
  assert.ok(refused.error.sessionId);

  const bad = await app.call('forward.add', { vm: sys.vm, remotePort: 70000 } as never);
  assert.ok(!bad.ok && bad.error.code === 'bad_request');
  assert.match(bad.error.message, /remotePort/);

  await app.must('forward.remove', { forwardId: f.forwardId });
  await app.event('forward.removed', (e) => e.forwardId === f.forwardId);
  assert.deepEqual((await app.must('forward.list', {})).forwards, []);
});

test('RDP: a forward to 3389, a .rdp file for it, and the native client started on the file', async () => {
  const r = await app.must('rdp.launch', { vm: sys.vm });
  assert.equal(r.forward.remotePort, RDP_PORT);
  assert.equal(r.forward.name, 'RDP');
  assert.match(r.rdpFile.content, new RegExp(`^full address:s:127\\.0\\.0\\.1:${r.forward.localPort}\\r\\n`));
  assert.match(r.rdpFile.content, /\r\nusername:s:carol\r\n/);
  assert.equal(readFileSync(r.rdpFile.path, 'utf8'), r.rdpFile.content);
  assert.equal(statSync(r.rdpFile.path).mode & 0o777, 0o600);
  assert.equal(r.launched, true);
  assert.equal(r.client?.name, 'FreeRDP (xfreerdp)');
  // The client really ran, detached, with the file.
  for (let i = 0; i < 100 && !statSync(rdpLog, { throwIfNoEntry: false }); i++)
    await new Promise((x) => setTimeout(x, 50));
  assert.equal(readFileSync(rdpLog, 'utf8'), `${r.rdpFile.path}\n`);
  // Launching again reuses the forward.
  const again = await app.must('rdp.launch', { vm: sys.vm });
  assert.equal(again.forward.forwardId, r.forward.forwardId);
  await app.must('forward.remove', { forwardId: r.forward.forwardId });
  // Two launches at once (a double click) share one forward too.
  const [x, y] = await Promise.all([app.must('rdp.launch', { vm: sys.vm }), app.must('rdp.launch', { vm: sys.vm })]);
  assert.equal(x.forward.forwardId, y.forward.forwardId);
  const toRdp = (await app.must('forward.list', {})).forwards.filter((f) => f.remotePort === RDP_PORT);
  assert.equal(toRdp.length, 1);
  await app.must('forward.remove', { forwardId: x.forward.forwardId });

  // The .rdp file cannot be written (a file where its folder goes): a failure that says so, and
  // the forward opened for the launch is taken away again; one the user had open stays.
  const rdpDir = join(app.home, 'rdp');
  const rdpForwards = async () =>
    (await app.must('forward.list', {})).forwards.filter((f) => f.remotePort === RDP_PORT).map((f) => f.forwardId);
  rmSync(rdpDir, { recursive: true, force: true });
  writeFileSync(rdpDir, 'not a folder');
  try {
    const refused = await app.call('rdp.launch', { vm: sys.vm });
    assert.ok(!refused.ok && refused.error.code === 'local_file', JSON.stringify(refused));
    assert.match(
      refused.error.message,
      /^could not write the Remote Desktop file .*\/rdp\/[\w.-]+\.rdp \(E[A-Z]+\); check that .*\/rdp is a folder you can write to$/,
    );
    assert.deepEqual(await rdpForwards(), []);
    const kept = await app.must('forward.add', { vm: sys.vm, remotePort: RDP_PORT });
    assert.equal((await app.call('rdp.launch', { vm: sys.vm })).ok, false);
    assert.deepEqual(await rdpForwards(), [kept.forwardId]);
    await app.must('forward.remove', { forwardId: kept.forwardId });
  } finally {
    rmSync(rdpDir, { force: true });
  }
});

test('doctor.run: the settings page gets the doctor report, each check as the CLI has it', async () => {
  const report = await app.must('doctor.run', { vm: sys.vm, port: portOf(digest) });
  assert.equal(report.ok, true, JSON.stringify(report.checks, null, 1));
  assert.deepEqual(report.question, { vm: sys.vm, port: portOf(digest) });
  assert.equal(report.login?.user, 'carol');
  assert.equal(report.login?.state, 'valid');
  const vmChecks = report.checks.filter((c) => c.vm === sys.vm).map((c) => c.check);
  assert.deepEqual(vmChecks, [
    'grant',
    'agent',
    'port',
    'ticket',
    'data_socket',
    'ssh',
    'host_key',
    'ssh_auth',
    'forward',
  ]);
  assert.deepEqual(
    report.vms[0]?.ports.map((p) => [p.port, p.reachable]),
    [[portOf(digest), true]],
  );
  assert.equal(report.sessionIds.length, 1);
  const bad = await app.call('doctor.run', { vm: sys.vm, port: 0 });
  assert.ok(!bad.ok && bad.error.code === 'bad_request', JSON.stringify(bad));
});

test('login expiry: an open tab stays; actions that need a login wait for one inline re-login', async () => {
  const tab = await app.must('terminal.open', { vm: sys.vm, cols: 80, rows: 24 });
  // The login runs out (as after 30 minutes).
  const sessionFile = join(app.home, 'session.json');
  const saved = JSON.parse(readFileSync(sessionFile, 'utf8')) as Record<string, string>;
  writeFileSync(sessionFile, JSON.stringify({ ...saved, expiresAt: new Date(Date.now() - 1000).toISOString() }), {
    mode: 0o600,
  });
  const before = app.events.length;
  const opening = [
    app.call('terminal.open', { vm: sys.vm, cols: 80, rows: 24 }),
    app.call('forward.add', { vm: sys.vm, remotePort: portOf(digest) }),
  ];
  const asked = await app.event('login.required', (e) => app.events.indexOf(e) >= before);
  assert.equal(asked.reason, 'expired');
  assert.equal(asked.message, 'your login expired');
  // The remembered unlock (from enrollment) spares the password; a code is still needed.
  const again = await app.must('login.submit', { totp: await codes.next() });
  assert.equal(again.unlockedWith, 'keychain');
  const [t2, f2] = await Promise.all(opening);
  assert.ok(t2!.ok && f2!.ok, JSON.stringify([t2, f2]));
  assert.equal(app.events.slice(before).filter((e) => e.type === 'login.required').length, 1, 'asked once');
  // The tab opened before the expiry still works.
  await app.must('terminal.input', { terminalId: tab.terminalId, data: 'echo still-here\n' });
  await outputMatches(tab.terminalId, /still-here/);
  await app.must('terminal.close', { terminalId: tab.terminalId });
  await app.must('terminal.close', { terminalId: (t2 as { value: { terminalId: string } }).value.terminalId });
  await app.must('forward.remove', { forwardId: (f2 as { value: { forwardId: string } }).value.forwardId });
});

test('requests that do not meet the contract are refused with what was wrong', async () => {
  const unknown = await app.call('nope.nothing' as never, {} as never);
  assert.ok(!unknown.ok && unknown.error.code === 'unknown_request');
  const extra = await app.call('login.state', { sneaky: true } as never);
  assert.ok(!extra.ok && extra.error.code === 'bad_request');
  const vm = await app.call('terminal.open', { vm: 'Not A VM', cols: 80, rows: 24 });
  assert.ok(!vm.ok && vm.error.code === 'bad_request');
  assert.match(vm.error.message, /^terminal\.open: vm: /);
  const missing = await app.call('terminal.open', { vm: 'no-such-vm', cols: 80, rows: 24 });
  assert.ok(!missing.ok);
  assert.equal(missing.error.code, 'vm_not_found');
  assert.equal(missing.error.action, 'list_vms');
});

test('logging out closes every terminal and forward: an open connection is reset, the port is let go', async () => {
  const t = await app.must('terminal.open', { vm: sys.vm, cols: 80, rows: 24 });
  // The shell's start-up done first: a login shell killed halfway through its profile can leave
  // the machine's start-up files in a bad state (pyenv's rehash lock, here).
  await app.must('terminal.input', { terminalId: t.terminalId, data: 'echo logout-ready-$((1 + 1))\n' });
  await outputMatches(t.terminalId, /logout-ready-2/);
  const f = await app.must('forward.add', { vm: sys.vm, remotePort: portOf(digest) });
  assert.match(await sendAndHalfClose(f.localPort, Buffer.from('x')), /^1:/);
  // A connection still open through the forward (the digest service answers only after our end).
  const open = connect({ host: '127.0.0.1', port: f.localPort, allowHalfOpen: true });
  await once(open, 'connect');
  open.write('partial');
  await app.event('forward.changed', (e) => e.forward.forwardId === f.forwardId && e.forward.connections === 1);

  const howItEnded = streamEnd(open);
  await app.must('login.logout', {});
  assert.equal(await howItEnded, 'ECONNRESET', 'a cut connection must not look complete');
  const ended = await app.event('terminal.ended', (e) => e.terminalId === t.terminalId);
  assert.deepEqual(ended.end, { kind: 'closed' });
  await app.event('forward.removed', (e) => e.forwardId === f.forwardId);
  assert.deepEqual((await app.must('forward.list', {})).forwards, []);
  await assert.rejects(sendAndHalfClose(f.localPort, Buffer.from('x')), /ECONNREFUSED/);
  assert.equal((await app.must('app.state', {})).login.state, 'logged_out');
});
