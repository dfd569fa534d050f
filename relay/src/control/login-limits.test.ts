import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RelayConfig } from '../config.js';
import type { LoginLockoutStore } from '../store/types.js';
import { HttpError } from './http-error.js';
import { LoginLimits } from './login-limits.js';

/** Two addresses counted one by one; one failure locks an address out, one request a minute. */
function limits(): LoginLimits {
  const config = RelayConfig.parse({ maxFailuresPerSource: 1, unauthenticatedRequestsPerMinute: 1 });
  return new LoginLimits(config, {} as LoginLockoutStore, () => 0, 2);
}

test('a lockout an address earned names that address; the one every address beyond a full table shares says so', () => {
  const l = limits();
  assert.equal(l.failSource('10.0.0.1'), 'started');
  assert.equal(l.failSource('10.0.0.2'), 'started');
  assert.match(l.sourceLockedOut('10.0.0.1')!.message, /^too many failed attempts from your address; try again in/);
  // The table holds two lockouts: the third address is counted with all those beyond it.
  assert.equal(l.failSource('10.0.0.3'), 'started for every address beyond the relay table');
  const shared = l.sourceLockedOut('10.0.0.9');
  assert.ok(shared, 'an address that never failed is refused while the shared lockout lasts');
  assert.match(
    shared.message,
    /^too many failed attempts from many addresses at once: the relay refuses new addresses for now; try again in \d+ min$/,
  );
  assert.equal(l.sourceLockedOut('10.0.0.1')!.message.includes('many addresses'), false);
});

test('a request budget an address used up names that address; the shared one says so', () => {
  const l = limits();
  const refusal = (source: string) => {
    try {
      l.takeRequest(source);
    } catch (e) {
      assert.ok(e instanceof HttpError && e.status === 429);
      return e.message;
    }
    return undefined;
  };
  for (const source of ['10.0.0.1', '10.0.0.2']) assert.equal(refusal(source), undefined);
  assert.match(refusal('10.0.0.1')!, /^too many requests from your address; try again in 60 s$/);
  assert.equal(refusal('10.0.0.2')?.startsWith('too many requests from your address'), true);
  // Both counts are used up: every further address shares one budget.
  assert.equal(refusal('10.0.0.3'), undefined);
  assert.match(refusal('10.0.0.9')!, /^too many requests from many addresses at once: .* try again in 60 s$/);
});
