import assert from 'node:assert/strict';
import { relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

// What a command loads before it does anything is start-up time (issue 11). These pin the two
// largest savings: the SSH library and ws load only where a session is opened.

/** Every file `entry` loads through static imports (dynamic `import()` is not followed). */
async function staticallyLoaded(entry: string): Promise<string[]> {
  const file = fileURLToPath(new URL(entry, import.meta.url));
  const result = await build({
    entryPoints: [file],
    absWorkingDir: process.cwd(),
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    metafile: true,
    external: ['keytar', 'node-pty', 'bufferutil', 'utf-8-validate', 'node-rsa'],
    logLevel: 'silent',
  });
  const inputs = result.metafile.inputs;
  // The metafile names files relative to the working directory.
  const start = relative(process.cwd(), file);
  assert.ok(inputs[start], `esbuild did not report ${start}`);
  const seen = new Set([start]);
  const queue = [start];
  while (queue.length) {
    for (const i of inputs[queue.shift()!]?.imports ?? [])
      if (i.kind !== 'dynamic-import' && !i.external && !seen.has(i.path)) {
        seen.add(i.path);
        queue.push(i.path);
      }
  }
  return [...seen];
}

const sshOrWs = (files: string[]) =>
  files.filter((f) => /node_modules\/(@microsoft\/dev-tunnels-ssh[^/]*|ws)\//.test(f) || f.includes('shared/src/ssh/'));

test('what every command builds (the CLI context) loads neither the SSH library nor ws', async () => {
  assert.deepEqual(sshOrWs(await staticallyLoaded('./context.ts')), []);
});

test('a command that opens a session loads them (the check above can see them)', async () => {
  const files = await staticallyLoaded('../core/session/vm-session-connect.ts');
  assert.ok(files.some((f) => f.includes('node_modules/@microsoft/dev-tunnels-ssh/')));
  assert.ok(files.some((f) => f.includes('node_modules/ws/')));
});
