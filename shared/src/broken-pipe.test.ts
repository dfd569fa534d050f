import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

/**
 * A real process writes ~4 MB to stdout in one go; `head -c 10` reads a little and exits, so
 * the writer's next write hits a closed pipe (EPIPE).
 */
async function writeIntoHead(install: string): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-epipe-'));
  try {
    const script = join(dir, 'writer.ts');
    writeFileSync(
      script,
      `import { endQuietlyWhenReaderGoes } from ${JSON.stringify(new URL('./broken-pipe.ts', import.meta.url).href)};
${install}
const line = 'x'.repeat(1023) + '\\n';
for (let i = 0; i < 4096; i++) process.stdout.write(line);
process.exitCode = 3; // reached only if every write succeeded
`,
    );
    const node = JSON.stringify(process.execPath);
    const tsx = JSON.stringify(import.meta.resolve('tsx'));
    // PIPESTATUS[0]: the writer's exit status, which `head`'s own would hide.
    const child = spawn(
      'bash',
      ['-c', `${node} --import ${tsx} ${JSON.stringify(script)} | head -c 10; exit "\${PIPESTATUS[0]}"`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { code, stderr, stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a program writing into a pipe whose reader left ends quietly with 0', async () => {
  const r = await writeIntoHead('endQuietlyWhenReaderGoes();');
  assert.equal(r.stdout, 'x'.repeat(10));
  assert.equal(r.stderr, '', 'no stack trace, no message');
  assert.equal(r.code, 0);
});

test('a server that loses its log stream ends quietly with the code it chose (for its supervisor)', async () => {
  const r = await writeIntoHead('endQuietlyWhenReaderGoes(); endQuietlyWhenReaderGoes({ exitCode: 1 });');
  assert.equal(r.stderr, '');
  assert.equal(r.code, 1);
});

test('without it, the same program dies with an EPIPE stack trace (what the helper prevents)', async () => {
  const r = await writeIntoHead('');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /EPIPE/);
});

test('last words run before the program ends: a session closed, not dropped', async () => {
  const r = await writeIntoHead(
    `import { beforeBrokenPipeExit } from ${JSON.stringify(new URL('./broken-pipe.ts', import.meta.url).href)};
endQuietlyWhenReaderGoes();
beforeBrokenPipeExit(async () => {
  await new Promise((r) => setTimeout(r, 50));
  process.stderr.write('closed\\n');
});`,
  );
  assert.equal(r.stderr, 'closed\n');
  assert.equal(r.code, 0);
});

test('last words that never finish do not keep the program alive', async () => {
  const started = Date.now();
  const r = await writeIntoHead(
    `import { beforeBrokenPipeExit } from ${JSON.stringify(new URL('./broken-pipe.ts', import.meta.url).href)};
endQuietlyWhenReaderGoes();
beforeBrokenPipeExit(() => new Promise(() => setInterval(() => {}, 1000)));`,
  );
  assert.equal(r.code, 0);
  assert.ok(Date.now() - started < 10_000, 'the program waited past its bound');
});
