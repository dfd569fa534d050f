import assert from 'node:assert/strict';
import { isAscii } from 'node:buffer';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { spawn as spawnPty } from 'node-pty';
import { processAlive } from '@airlock/shared';
import { airlockBin, repoRoot, startSystem, waitFor, type System } from './harness.js';

let sys: System;
before(async () => {
  sys = await startSystem();
});
after(async () => {
  await sys?.close();
});

test('exec: stdout, stderr and the exit code come back separately through the relay', async () => {
  const r = await sys.cli(['exec', sys.vm, '--', 'sh', '-c', 'echo to-stdout; echo to-stderr >&2; exit 7']);
  assert.equal(r.code, 7, r.stderr);
  assert.equal(r.stdout, 'to-stdout\n');
  assert.match(r.stderr, /to-stderr/);
  assert.doesNotMatch(r.stdout, /to-stderr/);
});

test("exec runs from the built CLI's whole script, with a code cache written after its first good run", async () => {
  const cache = mkdtempSync(join(tmpdir(), 'airlock-script-cache-'));
  try {
    const env = { XDG_CACHE_HOME: cache };
    const scriptCaches = () =>
      readdirSync(join(cache, 'airlock', 'v8-compile-cache')).filter((f) => f.startsWith('cli-script-'));
    assert.equal((await sys.cli(['exec', '--help'], { env })).code, 0);
    const failed = await sys.cli(['exec', sys.vm, '--', 'sh', '-c', 'exit 3'], { env });
    assert.equal(failed.code, 3, failed.stderr);
    assert.deepEqual(scriptCaches(), [], 'neither help nor a failed run leaves a cache');
    // Read as Latin-1 into a one-byte string (cached-script.ts), which is right only for ASCII.
    assert.ok(
      isAscii(readFileSync(join(repoRoot, '.tools', 'dist', 'airlock-script.js'))),
      'the built script is ASCII',
    );
    for (const round of ['first', 'second']) {
      const r = await sys.cli(['exec', sys.vm, '--', 'echo', round], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${round}\n`);
      assert.deepEqual(
        scriptCaches().map((f) => f.replace(/^cli-script-.*-/, '')),
        ['exec.bin'],
      );
    }
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('exec: a command killed by a signal exits 128+n, like ssh, and says so', async () => {
  const r = await sys.cli(['exec', sys.vm, '--', 'sh', '-c', 'kill -TERM $$']);
  assert.equal(r.code, 128 + 15, r.stderr);
  assert.match(r.stderr, /TERM/);
});

test('exec: stdin is forwarded and its end reaches the remote command', async () => {
  const r = await sys.cli(['exec', sys.vm, '--', 'sh', '-c', 'tr a-z A-Z; echo done'], { input: 'hello airlock\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'HELLO AIRLOCK\ndone\n');
});

test('shell without a terminal: commands from a pipe run and the exit status comes back', async () => {
  const r = await sys.cli(['shell', sys.vm], { input: 'echo round-$((40+2))\nexit 5\n' });
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stdout, /round-42/);
});

test('shell in a real terminal: PTY, resize and exit status', async () => {
  const term = spawnPty(airlockBin, ['shell', sys.vm], {
    name: 'xterm-256color',
    cols: 100,
    rows: 30,
    env: { ...process.env, AIRLOCK_HOME: sys.home } as Record<string, string>,
  });
  let screen = '';
  term.onData((d) => (screen += d));
  const exited = new Promise<number>((resolve) => term.onExit((e) => resolve(e.exitCode)));
  try {
    term.write('stty size; tty\r');
    // `tty` printing a /dev/pts path is the proof that the remote shell runs on a PTY.
    await waitFor(
      () => /30 100/.test(screen) && /\/dev\/pts\//.test(screen),
      15_000,
      () => `no "30 100" and /dev/pts/ from stty size; tty — screen: ${screen}`,
    );
    term.resize(120, 40);
    // The resize travels as an SSH window-change; poll until the remote PTY reports it.
    await waitFor(
      async () => {
        term.write('stty size\r');
        await new Promise((r) => setTimeout(r, 200));
        return /40 120/.test(screen);
      },
      15_000,
      () => `resize never reached the remote PTY; screen: ${screen}`,
    );
    term.write('exit 3\r');
    assert.equal(await exited, 3);
  } finally {
    term.kill();
  }
});

test('exec: a command that never reads its input still exits with its status while input keeps coming', async () => {
  // The remote command ignores stdin, so the channel's window closes while `airlock exec` is
  // still sending; the exit status that arrives then must still get through.
  const child = sys.spawnCli(['exec', sys.vm, '--', 'sh', '-c', 'sleep 1; exit 3']);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin!.on('error', () => {}); // EPIPE once the command has gone
  const block = Buffer.alloc(64 * 1024, 'x');
  const feed = () => {
    while (!child.stdin!.destroyed && child.stdin!.write(block));
  };
  child.stdin!.on('drain', feed);
  feed();
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  child.stdin!.destroy();
  assert.equal(signal, null, `still running 30 s later: ${stderr}`);
  assert.equal(code, 3, stderr);
});

test('exec into a reader that stops early (`| head -c 1`): the remote command ends at once, as with ssh', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-exec-epipe-'));
  chmodSync(dir, 0o777); // the remote command may run as another user (the agent's OS user)
  const pidFile = join(dir, 'pid');
  try {
    const remote = `echo $$ > ${pidFile}; exec yes`;
    const { stdout, stderr } = await execPipeline('| head -c 1', remote, 30_000);
    assert.equal(stdout, 'y', stderr);
    assert.doesNotMatch(stderr, /internal error|Error:|ended without/, stderr);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    // The "VM" is this machine: the remote `yes` is a process here. A session that only dropped
    // would keep it, waiting for a resume; one that was closed hangs it up.
    await waitFor(
      () => !processAlive(pid),
      10_000,
      () => `the remote command (pid ${pid}) was still running 10 s after airlock exec ended`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exec into a pipe: 24 MiB of output arrive whole and in order (sha256), and the exit code with them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-exec-pipe-'));
  chmodSync(dir, 0o755); // the remote command may run as another user
  const file = join(dir, 'data.bin');
  const data = randomBytes(24 * 1024 * 1024);
  writeFileSync(file, data);
  chmodSync(file, 0o644);
  try {
    const remote = `cat ${file}; exit 4`;
    const { code, stdout, stderr } = await execPipeline('| sha256sum', remote, 60_000);
    assert.equal(code, 4, stderr);
    assert.equal(stdout.split(' ')[0], createHash('sha256').update(data).digest('hex'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** `airlock exec <vm> -- sh -c <remote> <pipe>` in bash with pipefail: its exit code and output. */
async function execPipeline(
  pipe: string,
  remote: string,
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = `set -o pipefail; "$0" exec "$1" -- sh -c "$2" ${pipe}`;
  const child = spawn('bash', ['-c', script, airlockBin, sys.vm, remote], {
    env: { ...process.env, AIRLOCK_HOME: sys.home },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}
