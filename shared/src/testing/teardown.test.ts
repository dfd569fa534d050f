import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { tearDown } from './teardown.js';

test('every teardown step runs, though one before it failed or hung; the first failure is reported', async () => {
  const ran: string[] = [];
  await assert.rejects(
    tearDown(
      'x.test.ts',
      [
        ['a step that throws', () => (ran.push('throws'), Promise.reject(new Error('first')))],
        ['a step that hangs', () => (ran.push('hangs'), new Promise(() => {}))],
        ['the last step', () => void ran.push('last')],
      ],
      200,
    ),
    /^Error: first$/,
  );
  assert.deepEqual(ran, ['throws', 'hangs', 'last']);
  await assert.rejects(tearDown('x.test.ts', [['a step that hangs', () => new Promise(() => {})]], 100), {
    message: 'timed out after 100 ms waiting for a step that hangs',
  });
});

test('a process still alive after its teardown says what holds it open; one that ends says nothing', async () => {
  const script = (keepOpen: boolean) => `
    import { createServer } from 'node:net';
    import { reportWhatOutlivesTeardown } from '${new URL('./teardown.ts', import.meta.url).href}';
    const server = createServer().listen(0, '127.0.0.1', () => {
      reportWhatOutlivesTeardown('held.test.ts', 300);
      ${keepOpen ? 'setTimeout(() => server.close(), 1500);' : 'server.close();'}
    });`;
  const run = async (keepOpen: boolean) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script(keepOpen)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await once(child, 'close');
    return stderr;
  };
  const held = await run(true);
  assert.match(held, /^held\.test\.ts: still running 0\.3 s after its teardown; held open by:\n/);
  assert.match(held, /a server listening on \{"address":"127\.0\.0\.1","family":"IPv4","port":\d+\}/);
  assert.match(held, /\(resources: .*TCPServerWrap.*\)\n$/);
  assert.equal(await run(false), '');
});

test('a failed teardown step is said on stderr at once, before the steps after it run', async () => {
  const script = `
    import { tearDown } from '${new URL('./teardown.ts', import.meta.url).href}';
    await tearDown('slow.test.ts', [
      ['a step that hangs', () => new Promise(() => {})],
      ['the last step', () => process.stderr.write('last step ran\\n')],
    ], 100).catch(() => {});
    process.exit(0);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await once(child, 'exit');
  assert.equal(
    stderr,
    'slow.test.ts: teardown step failed: timed out after 100 ms waiting for a step that hangs\nlast step ran\n',
  );
});
