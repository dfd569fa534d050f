import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runInSession } from '@airlock/shared';
import { createConnectLogger } from '../logger.js';

function fileLines(path: string): Array<Record<string, unknown>> {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('the log file: JSON lines at info, each line of a session with its sid once, secrets redacted', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-logger-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { log, file } = createConnectLogger({ folder: join(dir, 'logs') });
  assert.ok(file);
  log.info('outside any session');
  log.debug('not kept at the default level');
  runInSession({ sid: 'sid-1' }, () => {
    log.info({ vm: 'lab' }, 'inside a session');
    log.child({ sid: 'sid-1', vm: 'lab' }).warn('a child that names the session itself');
  });
  log.info(
    {
      accessToken: 'live-token',
      clientKeyPem: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----',
      nested: { password: 'hunter2', totpSecret: 'JBSWY3DPEHPK3PXP', unlockKey: 'abc' },
      code: 'agent_unavailable',
    },
    'secrets under their names',
  );
  const text = readFileSync(file.path, 'utf8');
  const lines = fileLines(file.path);
  assert.deepEqual(
    lines.map((l) => [l.msg, l.sid]),
    [
      ['outside any session', undefined],
      ['inside a session', 'sid-1'],
      ['a child that names the session itself', 'sid-1'],
      ['secrets under their names', undefined],
    ],
  );
  assert.equal(text.split('\n')[2]!.match(/"sid"/g)?.length, 1, 'the sid appears once on a line');
  for (const secret of ['live-token', 'BEGIN PRIVATE KEY', 'hunter2', 'JBSWY3DPEHPK3PXP', '"abc"'])
    assert.ok(!text.includes(secret), `${secret} is redacted`);
  assert.equal(lines[3]!.code, 'agent_unavailable', 'error codes are not secrets');
});

test('-v: debug lines reach the file too', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-logger-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { log, file } = createConnectLogger({ folder: join(dir, 'logs'), stderrLevel: 'debug' });
  log.debug('kept');
  assert.deepEqual(
    fileLines(file!.path).map((l) => l.msg),
    ['kept'],
  );
});
