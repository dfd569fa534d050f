import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { test } from 'node:test';
import { CloseCode, err, type Result } from '@airlock/shared';
import { portOf, sendAndHalfClose, startDigestService, streamEnd } from '@airlock/shared/testing';
import type { ConnectError } from '../next-action.js';
import type { VmSession } from '../session/types.js';
import { openVmSession } from '../session/vm-session.js';
import { fakeCredentials, startFakeRelay } from '../test-support/fake-relay.js';
import { ForwardSupervisor, type SupervisorEvent } from './forward-supervisor.js';

const TIMEOUT = { timeout: 30_000 };

/** Resolves with the first event that `match` accepts (or rejects after `ms`). */
function nextEvent<T extends SupervisorEvent['type']>(
  s: ForwardSupervisor,
  type: T,
  ms = 10_000,
): Promise<Extract<SupervisorEvent, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} event within ${ms} ms`)), ms);
    const off = s.onEvent((e) => {
      if (e.type !== type) return;
      clearTimeout(timer);
      off();
      resolve(e as Extract<SupervisorEvent, { type: T }>);
    });
  });
}

test('a dropped session is replaced under the same listeners; a revocation stops everything', TIMEOUT, async () => {
  const svc = await startDigestService();
  const relay = await startFakeRelay({ ports: [portOf(svc)] });
  const credentials = await fakeCredentials(relay);
  const started = await ForwardSupervisor.start({
    vm: 'demo-vm',
    openSession: () => openVmSession({ credentials, vm: 'demo-vm' }),
    backoffMs: [50],
  });
  assert.ok(started.ok);
  const supervisor = started.value;
  const events: SupervisorEvent[] = [];
  supervisor.onEvent((e) => events.push(e));
  try {
    const added = await supervisor.manager.add(portOf(svc));
    assert.ok(added.ok);
    const { localPort } = added.value;
    const payload = randomBytes(100_000);
    const digest = `${payload.length}:${createHash('sha256').update(payload).digest('hex')}`;
    assert.equal(await sendAndHalfClose(localPort, payload), digest);
    const firstSession = supervisor.session.sessionId;

    const reconnected = nextEvent(supervisor, 'reconnected');
    relay.dropSessions(CloseCode.agentOffline, 'agent restarted');
    const e = await reconnected;
    assert.notEqual(e.sessionId, firstSession);
    assert.equal(supervisor.session.sessionId, e.sessionId);
    const lost = events.find((x) => x.type === 'reconnecting');
    assert.ok(lost && lost.type === 'reconnecting');
    assert.equal(lost.attempt, 0);
    assert.equal(lost.error.code, 'agent_unavailable');
    // The same local port carries on over the new session.
    assert.equal(await sendAndHalfClose(localPort, payload), digest);

    const stopped = nextEvent(supervisor, 'stopped');
    relay.dropSessions(CloseCode.revoked, 'the grant was removed');
    const end = await stopped;
    assert.equal(end.error?.code, 'revoked');
    assert.deepEqual(await supervisor.done, { error: end.error });
    // Nothing listens any more.
    assert.equal(await streamEnd(connect({ host: '127.0.0.1', port: localPort })), 'ECONNREFUSED');
  } finally {
    await supervisor.stop();
    await relay.close();
    svc.close();
  }
});

/** A fake relay, and sessions to it that fail with `failure` while `failing.on`. */
async function sessionsThatFail(failure: (relayUrl: string) => ConnectError) {
  const relay = await startFakeRelay({ ports: [8888] });
  const credentials = await fakeCredentials(relay);
  const failing = { on: false };
  const openSession = async (): Promise<Result<VmSession, ConnectError>> =>
    failing.on ? err(failure(relay.url)) : openVmSession({ credentials, vm: 'demo-vm' });
  return { relay, failing, openSession };
}

/** Sessions that fail while `failing.on` as when the relay no longer takes the login. */
const sessionsLoggedOut = (reason: 'refused' | 'expired', message: string) =>
  sessionsThatFail(() => ({ code: 'login_required', reason, message }));

test(
  'a login nobody gave: with nextLogin the forwards wait for one and carry on; stop() while waiting',
  TIMEOUT,
  async () => {
    const {
      relay,
      failing: loggedOut,
      openSession,
    } = await sessionsLoggedOut('refused', 'the relay no longer accepts your login');
    let logIn = () => {};
    let waits = 0;
    let letGo = 0;
    const nextLogin = (stopped: Promise<unknown>) => {
      waits++;
      void stopped.then(() => letGo++);
      return new Promise<void>((resolve) => (logIn = resolve));
    };
    const started = await ForwardSupervisor.start({ vm: 'demo-vm', openSession, backoffMs: [20], nextLogin });
    assert.ok(started.ok);
    const supervisor = started.value;
    const events: SupervisorEvent[] = [];
    const seen: Array<() => void> = [];
    supervisor.onEvent((e) => (events.push(e), seen.forEach((f) => f())));
    /** Resolves once the n-th event matching `is` has been seen (events are kept from the start). */
    const nth = (n: number, is: (e: SupervisorEvent) => boolean) =>
      new Promise<void>((resolve) => {
        const check = () => events.filter(is).length >= n && resolve();
        seen.push(check);
        check();
      });
    const waitingForLogin = (e: SupervisorEvent) => e.type === 'reconnecting' && e.error.code === 'login_required';
    try {
      loggedOut.on = true;
      relay.dropSessions(CloseCode.agentOffline, 'gone');
      await nth(1, waitingForLogin);
      assert.equal(waits, 1);
      assert.equal(supervisor.stopped, false, 'a login nobody gave yet does not end the forwards');
      loggedOut.on = false;
      logIn();
      await nth(1, (e) => e.type === 'reconnected');
      assert.ok(!events.some((e) => e.type === 'stopped'));

      // Waiting again, then stopped: it ends quietly, and nextLogin is told to let go.
      loggedOut.on = true;
      relay.dropSessions(CloseCode.agentOffline, 'gone again');
      await nth(2, waitingForLogin);
      await supervisor.stop();
      assert.deepEqual(await supervisor.done, {});
      assert.equal(letGo, 2);
    } finally {
      await supervisor.stop();
      await relay.close();
    }
  },
);

test('without nextLogin (the CLI), a login nobody gave ends the forwards with why', TIMEOUT, async () => {
  const { relay, failing: loggedOut, openSession } = await sessionsLoggedOut('expired', 'your login expired');
  const started = await ForwardSupervisor.start({ vm: 'demo-vm', openSession, backoffMs: [20] });
  assert.ok(started.ok);
  try {
    loggedOut.on = true;
    relay.dropSessions(CloseCode.agentOffline, 'gone');
    const { error } = await started.value.done;
    assert.equal(error?.code, 'login_required');
  } finally {
    await started.value.stop();
    await relay.close();
  }
});

test('failures time may fix are retried with backoff; stop() while retrying ends quietly', TIMEOUT, async () => {
  const { relay, failing, openSession } = await sessionsThatFail((url) => ({
    code: 'relay_unreachable',
    url,
    message: 'cannot reach the relay: connection refused',
  }));
  const started = await ForwardSupervisor.start({ vm: 'demo-vm', openSession, backoffMs: [20, 40] });
  assert.ok(started.ok);
  const supervisor = started.value;
  const retries: Array<Extract<SupervisorEvent, { type: 'reconnecting' }>> = [];
  supervisor.onEvent((e) => {
    if (e.type === 'reconnecting') retries.push(e);
  });
  try {
    failing.on = true;
    relay.dropSessions(CloseCode.agentOffline, 'gone');
    await new Promise<void>((resolve) => {
      const off = supervisor.onEvent((e) => {
        if (e.type !== 'reconnecting' || e.attempt !== 3) return;
        off();
        resolve();
      });
    });
    assert.deepEqual(
      retries.map((r) => [r.attempt, r.retryInMs, r.error.code]),
      [
        [0, 0, 'agent_unavailable'],
        [1, 20, 'relay_unreachable'],
        [2, 40, 'relay_unreachable'],
        [3, 40, 'relay_unreachable'],
      ],
    );
    await supervisor.stop();
    assert.deepEqual(await supervisor.done, {});
    assert.ok(supervisor.stopped);
  } finally {
    await supervisor.stop();
    await relay.close();
  }
});
