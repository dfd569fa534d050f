import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BurstNotices } from './burst-notices.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a burst of the same failure is said once, then summed up when it is over', async () => {
  const said: string[] = [];
  const notices = new BurstNotices((l) => said.push(l), 100);
  const summary = (n: number) => `${n} more`;
  for (let i = 0; i < 30; i++) notices.notice('8888 port_unreachable', 'nothing is listening on 8888', summary);
  notices.notice('2222 port_unreachable', 'nothing is listening on 2222', summary);
  assert.deepEqual(said, ['nothing is listening on 8888', 'nothing is listening on 2222']);
  await sleep(300);
  assert.deepEqual(said, ['nothing is listening on 8888', 'nothing is listening on 2222', '29 more']);
  // A later burst is said again.
  notices.notice('8888 port_unreachable', 'nothing is listening on 8888', summary);
  notices.notice('8888 port_unreachable', 'nothing is listening on 8888', summary);
  notices.flush();
  assert.deepEqual(said.slice(3), ['nothing is listening on 8888', '1 more']);
});
