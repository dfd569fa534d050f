/**
 * `airlock doctor` on the login, against a real relay: not logged in, a login that ran out (time
 * moved on for the relay and for the doctor's clock alike), a login the relay says has run out
 * while this computer's clock says not (the clock is behind), and a revoked device.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { airlockPaths } from '@airlock/connect';
import { runDoctor } from '@airlock/connect/core/diagnostics/doctor';
import { DoctorReport, type DoctorCheck } from '@airlock/connect/core/diagnostics/doctor-report';
import { doctorText } from '@airlock/connect/core/diagnostics/doctor-text';
import { memorySecretCache } from './support/connect-app.js';
import { startSystem, type System } from './harness.js';

const HALF_AN_HOUR_AND_MORE = 31 * 60_000;
/** How far the relay's clock is moved on. */
let relayAhead = 0;
let sys: System;

before(async () => {
  sys = await startSystem({ noAgent: true, relayNow: () => Date.now() + relayAhead });
});

after(async () => {
  await sys?.close();
});

function doctorAt(now: () => number, home = sys.home): Promise<DoctorReport> {
  const cache = memorySecretCache();
  return runDoctor({ paths: airlockPaths(home), secretCache: () => cache, versions: { connect: 'test' }, now });
}

const find = (r: DoctorReport, check: DoctorCheck['check']): DoctorCheck => {
  const c = r.checks.find((x) => x.check === check);
  assert.ok(c, `no ${check} check in ${JSON.stringify(r.checks, null, 1)}`);
  return c;
};

test('a login that ran out: when it ended, and the chain stops at the login', async (t) => {
  relayAhead = HALF_AN_HOUR_AND_MORE;
  t.after(() => (relayAhead = 0));
  const report = await doctorAt(() => Date.now() + HALF_AN_HOUR_AND_MORE);
  assert.equal(find(report, 'clock').status, 'pass', 'both clocks moved on together');
  const login = find(report, 'login');
  assert.equal(login.status, 'fail');
  assert.equal(login.code, 'login_expired');
  assert.match(login.message, /^your login expired at 20\S+ \(\d+ s ago\)$/);
  assert.equal(login.hint, 'log in again: airlock login');
  assert.equal(report.login?.state, 'expired');
  assert.deepEqual(report.stopped, [{ after: 'login', reason: 'the checks of VMs need a login the relay accepts' }]);
  assert.equal(report.checks.at(-1)?.check, 'login');
});

test('the relay says the login ran out while this computer’s clock says not: the clock is behind', async (t) => {
  relayAhead = HALF_AN_HOUR_AND_MORE;
  t.after(() => (relayAhead = 0));
  const report = await doctorAt(Date.now);
  const clock = find(report, 'clock');
  assert.equal(clock.status, 'fail');
  assert.match(clock.message, /this computer’s clock is 18\d\d s behind the relay’s/);
  const login = find(report, 'login');
  assert.equal(login.code, 'login_expired');
  assert.match(login.message, /the relay says your login expired, though by this computer’s clock it runs until 20/);
  assert.match(login.hint ?? '', /check the clock line above/);
});

test('a revoked device: the relay refuses the login, and says so', async () => {
  const bob = await sys.addUser('bob');
  const devices = await sys.relay.admin.listDevices('bob');
  assert.equal(devices.length, 1);
  const revoked = await sys.relay.admin.revokeDevice('test', devices[0]!.id);
  assert.ok(revoked.ok);
  const r = await bob.cli(['doctor', '--json'], { timeoutMs: 60_000 });
  assert.equal(r.code, 1);
  // The built CLI runs doctor as one script; loading the keychain module there must not make
  // Node print an experimental warning (it did while the module came in through `import()`).
  assert.doesNotMatch(r.stderr, /Warning/);
  const report = DoctorReport.parse(JSON.parse(r.stdout));
  const login = find(report, 'login');
  assert.equal(login.code, 'login_revoked');
  assert.match(login.message, /^the relay refused your login: this device was revoked/);
  assert.match(login.hint ?? '', /ask your admin \(a new enrollment code may be needed\)/);
  assert.equal(report.login?.state, 'revoked');
  // As the CLI prints it without --json (one CLI run is enough on a loaded machine).
  assert.match(doctorText(report), /✗ login +the relay refused your login: this device was revoked/);
});

test('not logged in: says so, and what to do', async () => {
  assert.equal((await sys.cli(['logout'])).code, 0);
  const r = await sys.cli(['doctor'], { timeoutMs: 60_000 });
  assert.equal(r.code, 1);
  assert.match(
    r.stdout,
    /✗ login +not logged in to https:\/\/127\.0\.0\.1:\d+ +\([\d.]+ m?s\)\n +→ log in: airlock login\n/,
  );
  assert.match(r.stdout, /— stopped after login: the checks of VMs need a login the relay accepts/);
  const report = await doctorAt(Date.now);
  assert.equal(find(report, 'login').code, 'not_logged_in');
  assert.deepEqual(report.login, { user: 'alice', state: 'absent' });
});
