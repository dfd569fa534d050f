import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WS_PATHS } from '@airlock/shared';
import {
  TEST_VM,
  UpgradeRefused,
  api,
  closed,
  login,
  loginWith,
  openConnect,
  openWs,
  startHarness,
  startSession,
  waitFor,
  type Harness,
} from '../test-support/harness.js';

/** One scrape of the metrics listener, as Prometheus reads it: `name{a="x",b="y"}` → value. */
async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unparsable line ${line}`);
    const labels = (m[2] ?? '')
      .split(/,(?=[a-z_]+=)/)
      .filter(Boolean)
      .sort()
      .join(',');
    values.set(labels ? `${m[1]}{${labels}}` : m[1]!, Number(m[3]));
  }
  return values;
}

const metric = (m: Map<string, number>, key: string) => m.get(key) ?? 0;

describe('metrics on a listener of their own', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    h = await startHarness({ metrics: { port: 0 } });
    assert.ok(h.relay.metricsUrl);
    url = h.relay.metricsUrl;
  });
  after(() => h.close());

  test('127.0.0.1 by default, never the public port; /healthz and /readyz there too; only GET', async () => {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(new URL(url).port, String(h.relay.port));
    assert.equal((await api(h.relay, 'GET', '/metrics')).status, 404, 'not on the public port');
    assert.equal((await api(h.relay, 'GET', '/api/v1/metrics')).status, 404);
    const health = (await (await fetch(`${url}/healthz`)).json()) as { status: string };
    assert.equal(health.status, 'ok');
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { status: string }).status, 'ready');
    assert.equal((await fetch(`${url}/metrics`, { method: 'POST' })).status, 405);
    assert.equal((await fetch(`${url}/nope`)).status, 404);
    // Process metrics come with a listener.
    assert.ok((await scrape(url)).has('process_resident_memory_bytes'));
  });

  test('counters move when a session is refused and when one opens and closes; gauges follow', async () => {
    const before = await scrape(url);

    // Refused: no grant (bob), then agent offline (alice, no agent connected yet).
    const bob = await login(h.relay, h.bob);
    assert.equal((await api(h.relay, 'POST', '/sessions', { token: bob, body: { vm: TEST_VM } })).status, 404);
    const alice = await login(h.relay, h.alice);
    assert.equal((await api(h.relay, 'POST', '/sessions', { token: alice, body: { vm: TEST_VM } })).status, 409);
    const refused = await scrape(url);
    assert.equal(
      metric(refused, 'airlock_sessions_refused_total{reason="no_grant"}') -
        metric(before, 'airlock_sessions_refused_total{reason="no_grant"}'),
      1,
    );
    assert.equal(
      metric(refused, 'airlock_sessions_refused_total{reason="agent_offline"}') -
        metric(before, 'airlock_sessions_refused_total{reason="agent_offline"}'),
      1,
    );
    assert.equal(
      metric(refused, 'airlock_logins_total{outcome="success",reason=""}') -
        metric(before, 'airlock_logins_total{outcome="success",reason=""}'),
      2,
    );
    assert.equal(metric(refused, 'airlock_sessions_opened_total'), metric(before, 'airlock_sessions_opened_total'));

    // Opened: a real pairing through the relay, bytes both ways.
    const { agent, session } = await startSession(h);
    const sid = session.sessionId;
    const pending = await scrape(url);
    assert.equal(metric(pending, 'airlock_sessions_pending'), 1);
    assert.equal(metric(pending, 'airlock_agents_online'), 1);
    const agentWs = await agent.openSession(h.relay, h.credential, sid);
    const connectWs = await openConnect(h.relay, sid, session.ticket);
    await waitFor(() => h.relay.sessionStats(sid)?.state === 'paired', 'paired');
    const arrived = new Promise((r) => agentWs.once('message', r));
    connectWs.send(Buffer.alloc(4096, 7));
    await arrived;
    const open = await scrape(url);
    assert.equal(metric(open, 'airlock_sessions_opened_total') - metric(before, 'airlock_sessions_opened_total'), 1);
    assert.equal(metric(open, 'airlock_sessions_live'), 1);
    assert.equal(metric(open, 'airlock_sessions_pending'), 0);
    assert.equal(
      metric(open, 'airlock_session_bytes_total{direction="up"}') -
        metric(before, 'airlock_session_bytes_total{direction="up"}'),
      4096,
      'bytes of a live session count before it ends',
    );

    const gone = closed(agentWs);
    connectWs.close(1000, 'done');
    await gone;
    await waitFor(() => h.relay.sessionStats(sid) === undefined, 'session ended');
    const ended = await scrape(url);
    assert.equal(metric(ended, 'airlock_sessions_live'), 0);
    assert.equal(
      metric(ended, 'airlock_sessions_closed_total{paired="true"}') -
        metric(before, 'airlock_sessions_closed_total{paired="true"}'),
      1,
    );
    assert.equal(
      metric(ended, 'airlock_session_bytes_total{direction="up"}') -
        metric(before, 'airlock_session_bytes_total{direction="up"}'),
      4096,
      'the ended session is counted once',
    );
    assert.ok(metric(ended, 'airlock_store_operation_duration_seconds_count{area="sessions"}') > 0);
    assert.ok(metric(ended, 'airlock_store_operation_duration_seconds_count{area="audit"}') > 0);
    agent.close();
    await waitFor(async () => metric(await scrape(url), 'airlock_agents_online') === 0, 'agent offline');
  });

  test('login failures by reason, refused upgrades by endpoint and status; no names or addresses in any label', async () => {
    const before = await scrape(url);
    assert.equal((await loginWith(h.relay, h.bob, { totp: '000000' })).status, 401);
    await assert.rejects(openWs(`${h.relay.wsUrl}${WS_PATHS.connect}?sid=not-a-uuid`), (e: unknown) => {
      assert.ok(e instanceof UpgradeRefused);
      return e.status === 400;
    });
    await assert.rejects(
      openWs(`${h.relay.wsUrl}${WS_PATHS.agentControl}`, { authorization: 'Bearer demo-vm.wrong' }),
      UpgradeRefused,
    );
    const after = await scrape(url);
    const delta = (k: string) => metric(after, k) - metric(before, k);
    assert.equal(delta('airlock_logins_total{outcome="failure",reason="totp_wrong_code"}'), 1);
    assert.equal(delta('airlock_upgrade_refusals_total{endpoint="connect",status="400"}'), 1);
    assert.equal(delta('airlock_upgrade_refusals_total{endpoint="agent_control",status="401"}'), 1);

    const labels = [...after.keys()].join('\n');
    for (const secretOrName of ['alice', 'bob', TEST_VM, '127.0.0.1', h.credential.split('.')[1]!])
      assert.doesNotMatch(labels, new RegExp(secretOrName.replace(/\./g, '\\.')), `${secretOrName} in a label`);
  });
});

test('metrics are off unless configured, and never share the public port', async () => {
  const h = await startHarness();
  try {
    assert.equal(h.relay.metricsUrl, undefined);
    assert.equal((await api(h.relay, 'GET', '/metrics')).status, 404);
  } finally {
    await h.close();
  }
  await assert.rejects(
    startHarness({ port: 17_443, metrics: { port: 17_443 } }),
    /metrics need a port of their own, never the public one/,
  );
  // A metrics port someone else holds stops the start with a message naming the metrics listener.
  const taken = createServer().listen(0, '127.0.0.1');
  await once(taken, 'listening');
  const port = (taken.address() as AddressInfo).port;
  try {
    await assert.rejects(startHarness({ metrics: { port } }), (e: Error & { listener?: string }) => {
      assert.equal(e.message, `metrics listener 127.0.0.1:${port}: EADDRINUSE`);
      assert.equal(e.listener, 'metrics');
      return true;
    });
  } finally {
    taken.close();
  }
});
