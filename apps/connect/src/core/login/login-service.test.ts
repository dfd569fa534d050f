import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { err, ok, type Result } from '@airlock/shared';
import { ConfigStore } from '../identity/config-store.js';
import { UserKeyStore } from '../identity/user-key-store.js';
import { airlockPaths } from '../paths.js';
import { RelayClient } from '../relay/relay-client.js';
import { enrolledHome, TEST_PASSWORD } from '../test-support/enrolled-home.js';
import { startFakeRelay, totpFor, type FakeRelay } from '../test-support/fake-relay.js';
import { LoginAttempt } from './login-attempt.js';
import { LoginService, type LoginNeeded, type Relogin } from './login-service.js';
import type { RelayCredentials } from './login.js';

let relay: FakeRelay;
let dir: string;
before(async () => {
  relay = await startFakeRelay();
  dir = await mkdtemp(join(tmpdir(), 'airlock-login-service-'));
});
after(async () => {
  await relay.close();
  await rm(dir, { recursive: true, force: true });
});

const listVms = async (c: RelayCredentials) => {
  const client = new RelayClient({ endpoint: c.endpoint, token: c.token });
  try {
    return await client.listVms();
  } finally {
    await client.close();
  }
};

/** A relogin that logs in for real with the test password and the relay's current code, counting its calls. */
function realRelogin(store: ConfigStore, user: string) {
  const asked: LoginNeeded[] = [];
  const relogin: Relogin = async (needed) => {
    asked.push(needed);
    const unlocked = await new UserKeyStore(store.paths).unlockWithPassword(TEST_PASSWORD);
    assert.ok(unlocked.ok);
    const attempt = await LoginAttempt.start({ enrollment: needed.enrollment, key: unlocked.value.key, store });
    const res = await attempt.submit(totpFor(relay.totpSecret(user)!).generate());
    assert.ok(res.ok, !res.ok ? res.error.message : '');
    return ok(res.value);
  };
  return { relogin, asked };
}

test('the login state: not enrolled, logged out, logged in until, expired', async () => {
  const store = new ConfigStore(airlockPaths(join(dir, 'states')));
  let now = Date.now();
  const service = new LoginService({ store, now: () => now });
  assert.deepEqual(await service.state(), { state: 'not_enrolled' });
  await enrolledHome(relay, store.paths.home, { user: 'sam', login: false });
  assert.deepEqual(await service.state(), { state: 'logged_out', user: 'sam', relayUrl: relay.url });
  const needed = await service.credentials();
  assert.ok(!needed.ok);
  assert.deepEqual(needed.error, {
    code: 'login_required',
    reason: 'absent',
    message: `not logged in to ${relay.url}`,
  });

  const { relogin } = realRelogin(store, 'sam');
  const enrollment = await service.enrollment();
  assert.ok(enrollment.ok);
  await relogin({ reason: 'absent', message: '', enrollment: enrollment.value });
  const s = await service.state();
  assert.equal(s.state, 'logged_in');
  assert.ok(s.state === 'logged_in' && Date.parse(s.expiresAt) > now);
  now = Date.parse((s as { expiresAt: string }).expiresAt) + 1;
  assert.equal((await service.state()).state, 'expired');
  const expired = await service.credentials();
  assert.ok(!expired.ok && expired.error.code === 'login_required' && expired.error.reason === 'expired');
});

test('a token the relay refuses: several calls at once share one new login, then each is retried', async () => {
  const home = join(dir, 'refused');
  const enrollment = await enrolledHome(relay, home, { user: 'ann' });
  const store = new ConfigStore(airlockPaths(home));
  const saved = await store.readSession();
  assert.ok(saved);
  // Still valid by its clock, but not a token this relay ever issued.
  await store.writeSession({ ...saved, accessToken: 'not-a-token' });
  const { relogin, asked } = realRelogin(store, 'ann');
  const changes: string[] = [];
  const service = new LoginService({ store, relogin });
  service.onChange((s) => changes.push(s.state));
  const results = await Promise.all([1, 2, 3].map(() => service.withLogin(listVms)));
  for (const r of results) assert.ok(r.ok, !r.ok ? r.error.message : '');
  assert.equal(asked.length, 1, 'one new login for three refused calls');
  assert.equal(asked[0]!.reason, 'refused');
  assert.equal(asked[0]!.message, 'the relay no longer accepts your login');
  assert.deepEqual(asked[0]!.enrollment, enrollment);
  // The refusal is heard (the login no longer shows time left), then the new login.
  assert.deepEqual(changes, ['expired', 'logged_in']);
  assert.notEqual((await store.readSession())?.accessToken, 'not-a-token');
});

test('when nobody can log in again, the relay refusal is the answer', async () => {
  const home = join(dir, 'nobody');
  await enrolledHome(relay, home, { user: 'bob' });
  const store = new ConfigStore(airlockPaths(home));
  const saved = await store.readSession();
  assert.ok(saved);
  await store.writeSession({ ...saved, accessToken: 'not-a-token' });
  let asked = 0;
  const service = new LoginService({
    store,
    relogin: async (n) => (asked++, err({ code: 'login_required', reason: n.reason, message: n.message })),
  });
  const changes: string[] = [];
  service.onChange((s) => changes.push(s.state));
  assert.equal((await service.state()).state, 'logged_in', 'valid by its own clock');
  const r = await service.withLogin(listVms);
  assert.ok(!r.ok);
  assert.equal(r.error.code, 'unauthenticated');
  assert.equal(asked, 1);
  // Refused, it counts as expired (no time left shown on it), and is never offered again: the next
  // call asks for a login at once, for the reason the relay gave.
  assert.deepEqual(changes, ['expired']);
  const s = await service.state();
  assert.equal(s.state, 'expired');
  assert.equal(s.state === 'expired' && s.expiresAt, saved.expiresAt);
  const offered = async (): Promise<Result<never, { code: 'unauthenticated' }>> =>
    assert.fail('the refused token was offered again');
  const next = await service.withLogin(offered);
  assert.ok(!next.ok && next.error.code === 'login_required' && next.error.reason === 'refused');
  assert.equal(asked, 2);
  const early = await service.withSavedLogin(offered);
  assert.ok(!early.ok && early.error.code === 'login_required' && early.error.reason === 'refused');
  // A new login is a new token: logged in again.
  const { relogin } = realRelogin(store, 'bob');
  const enrollment = await service.enrollment();
  assert.ok(enrollment.ok);
  await relogin({ reason: 'refused', message: '', enrollment: enrollment.value });
  assert.equal((await service.state()).state, 'logged_in');
});
