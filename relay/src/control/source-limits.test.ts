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
  assert.deepEqual(limits.held(), { sources: [], total: 0 });

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
  assert.deepEqual(limits.held(), { sources: held, total: 3 });
  assert.deepEqual(limits.held(2), { sources: held.slice(0, 2), total: 3 }, 'a long list is cut, and says so');
  now += 600_000;
  assert.deepEqual(limits.held(), { sources: [], total: 0 }, 'lockouts and budgets that have run out are not listed');
});
