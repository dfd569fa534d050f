import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { RelayConfig } from '../config.js';
import type { RelayStore } from '../store/types.js';
import { SourceLimits } from './source-limits.js';

test('the sources refused now: by which limit, counted as what, and for how long, soonest free first', () => {
  let now = 0;
  const config = RelayConfig.parse({
    maxFailuresPerSource: 2,
    lockoutSeconds: 600,
    unauthenticatedRequestsPerMinute: 1,
    refusedUpgradesPerMinute: 1,
  });
  const limits = new SourceLimits(config, {} as RelayStore, pino({ level: 'silent' }), () => now);
  assert.deepEqual(limits.held(), { at: '1970-01-01T00:00:00.000Z', sources: [], total: 0 });

  for (let i = 0; i < 2; i++) limits.login.failSource('203.0.113.7');
  limits.login.failSource('203.0.113.8'); // one failure: not refused
  limits.login.takeRequest('2001:db8:0:1::7');
  assert.throws(() => limits.login.takeRequest('2001:db8:0:1::7'), /too many requests/);
  for (let i = 0; i < 2; i++) limits.upgradeRefusals.take('198.51.100.1');
  now += 30_000;
  const held = [
    { source: '198.51.100.1', limit: 'refused-upgrades', retryAfterSeconds: 30 },
    { source: '2001:db8:0:1::/64', limit: 'requests', retryAfterSeconds: 30 },
    { source: '203.0.113.7', limit: 'failed-attempts', retryAfterSeconds: 570 },
  ];
  const at = '1970-01-01T00:00:30.000Z';
  assert.deepEqual(limits.held(), { at, sources: held, total: 3 });
  assert.deepEqual(limits.held(2), { at, sources: held.slice(0, 2), total: 3 }, 'a long list is cut, and says so');
  now += 600_000;
  assert.deepEqual(
    limits.held(),
    { at: '1970-01-01T00:10:30.000Z', sources: [], total: 0 },
    'lockouts and budgets that have run out are not listed',
  );
});

test('the list is made at most every 5 s (or after a release); the shared count of refused upgrades, which refuses nobody, is not in it', () => {
  let now = 0;
  const config = RelayConfig.parse({ maxFailuresPerSource: 1, refusedUpgradesPerMinute: 1 });
  const limits = new SourceLimits(config, {} as RelayStore, pino({ level: 'silent' }), () => now);
  assert.equal(limits.held().total, 0);
  limits.login.failSource('203.0.113.7');
  assert.equal(limits.held().total, 0, 'served from the list made a moment ago');
  now += 5000;
  assert.deepEqual(limits.held().sources, [
    { source: '203.0.113.7', limit: 'failed-attempts', retryAfterSeconds: 895 },
  ]);

  // A spray fills the upgrade table (100 000 addresses) and then the count they share.
  for (let i = 0; i < 100_000; i++)
    for (let n = 0; n < 2; n++) limits.upgradeRefusals.take(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
  for (let n = 0; n < 2; n++) limits.upgradeRefusals.take('198.51.100.1');
  assert.deepEqual(limits.upgradeRefusals.peek('198.51.100.2'), {
    allowed: false,
    retryAfterSeconds: 60,
    shared: true,
  });
  now += 5000;
  const held = limits.held();
  assert.equal(held.total, 100_001, 'every address counted on its own, and the lockout');
  assert.equal(held.sources.length, 1000, 'a long list is cut');
  assert.ok(!held.sources.some((s) => s.source === 'shared'));
});
