// `airlock-relay serve --config <file>`: the file's listen address is used unless a flag says
// otherwise, and a data dir in the file that is not the relay's is refused, saying what to do.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { run, serve } from './test-support/relay-process.js';

async function dirWithConfig(t: TestContext, config: object): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-serve-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'relay.json');
  await writeFile(file, JSON.stringify(config));
  return { dir: join(dir, 'data'), file };
}

test("the config file's host and port are used when no flag gives them", async (t) => {
  const { dir, file } = await dirWithConfig(t, { host: '127.0.0.2', port: 0 });
  const { url, child } = await serve(t, dir, ['--config', file]);
  assert.match(url, /^https:\/\/127\.0\.0\.2:\d+/);
  assert.doesNotMatch(url, /:7443/, 'not the --port default');
  child.kill('SIGTERM');
});

test('a flag given on the command line wins over the config file', async (t) => {
  const { dir, file } = await dirWithConfig(t, { host: '127.0.0.2', port: 0 });
  const { url, child } = await serve(t, dir, ['--config', file, '--host', '127.0.0.3']);
  assert.match(url, /^https:\/\/127\.0\.0\.3:\d+/);
  child.kill('SIGTERM');
});

test("a data dir in the config file that is not the relay's is refused with what to do", async (t) => {
  const { dir, file } = await dirWithConfig(t, { dataDir: '/somewhere/else' });
  const r = await run(dir, ['serve', '--config', file, '--port', '0']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /the config file names the data dir "\/somewhere\/else", but this relay's is /);
  assert.match(r.stderr, /remove dataDir from the file and pass --data-dir/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('a config file with a port of the wrong type names the field', async (t) => {
  const { dir, file } = await dirWithConfig(t, { port: 'seventy' });
  const r = await run(dir, ['serve', '--config', file]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /bad relay configuration: .*port/);
});

test('a revocation check interval over a minute is refused: revoked users would keep their sessions that long', async (t) => {
  const { dir, file } = await dirWithConfig(t, { revocationCheckMs: 3_600_000 });
  const r = await run(dir, ['serve', '--config', file]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /bad relay configuration: .*revocationCheckMs/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('a data dir that cannot be made is named, with what to do, not as a bare errno', async () => {
  // procfs refuses new folders with ENOENT, for root too.
  const r = await run('/proc/airlock-no-such-data-dir', ['serve', '--port', '0']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^error: cannot use \/proc\/airlock-no-such-data-dir \(ENOENT\)\nhint: pass a --data-dir/);
});

test('a publicUrl in the config file that devices would refuse is refused at start', async (t) => {
  const { dir, file } = await dirWithConfig(t, { publicUrl: 'http://relay.example.org' });
  const r = await run(dir, ['serve', '--config', file, '--port', '0']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /bad relay configuration: publicUrl: must be the https:\/\/ URL of the relay/);
});
