import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { createRelayLogger } from './logger.js';

test('relay log lines: ISO-8601 times as in the agent’s and Connect’s logs, the program named, secrets redacted', async () => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const log = createRelayLogger('info', out);
  log.info({ sid: 's-1', token: 'do-not-log-me', req: { headers: { authorization: 'Bearer x' } } }, 'paired');
  await new Promise((r) => setImmediate(r));
  const line = JSON.parse(text.trim()) as Record<string, unknown>;
  assert.equal(typeof line.time, 'string');
  assert.equal(line.time, new Date(Date.parse(line.time as string)).toISOString());
  assert.equal(line.name, 'airlock-relay');
  assert.equal(line.msg, 'paired');
  assert.equal(line.token, '[redacted]');
  assert.doesNotMatch(text, /do-not-log-me|Bearer x/);
});
