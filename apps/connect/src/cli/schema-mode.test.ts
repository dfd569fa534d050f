import assert from 'node:assert/strict';
import { test } from 'node:test';
import { config } from 'zod';
import { ConnectConfig } from '../core/identity/config-store.js';

test("the CLI's context turns zod's parser compilation off before Connect's schemas are built, and they still parse", async () => {
  assert.equal(config().jitless, undefined);
  await import('./context.js');
  assert.equal(config().jitless, true);
  // Built now, on first use (lazySchema), without compiled parsers.
  const good = {
    relayUrl: 'https://relay.example:7443',
    user: 'alice',
    deviceId: '8d0c3d4e-5b6f-4a7b-8c9d-0e1f2a3b4c5d',
  };
  assert.deepEqual(ConnectConfig.parse(good), good);
  const bad = ConnectConfig.safeParse({ relayUrl: 'not a url', deviceId: 7 });
  assert.equal(bad.success, false);
  assert.deepEqual(bad.error?.issues.map((i) => i.path.join('.')).sort(), ['deviceId', 'relayUrl']);
});
