// `airlock-relay` as a real process, for tests of the command line itself.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'airlock-relay.js');

/** `airlock-relay …` as a real process (the relay or one admin command). */
export function relayProcess(dir: string, args: string[]): ChildProcessWithoutNullStreams & { stderrText(): string } {
  const child = spawn(process.execPath, [bin, '--data-dir', dir, ...args], {
    stdio: 'pipe',
    env: { ...process.env, AIRLOCK_RELAY_PUBLIC_URL: '', AIRLOCK_RELAY_TLS_CERT: '' },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  return Object.assign(child, { stderrText: () => stderr });
}

export async function exited(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

export async function run(
  dir: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = relayProcess(dir, args);
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = await exited(child);
  return { code, stdout, stderr: child.stderrText() };
}

/** Starts `serve` and waits for its banner: the URL and the pin it prints for people. */
export async function serve(
  t: TestContext,
  dir: string,
  args: string[] = ['--port', '0'],
): Promise<{ child: ReturnType<typeof relayProcess>; url: string; pin: string }> {
  const child = relayProcess(dir, ['serve', ...args, '--log-level', 'warn']);
  t.after(() => void child.kill('SIGKILL'));
  const deadline = Date.now() + 30_000;
  // The whole line: a chunk may end in the middle of the pin.
  while (!/TLS pin: \S+.*\n/.test(child.stderrText())) {
    if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${child.stderrText()}`);
    if (Date.now() > deadline) throw new Error(`serve did not start: ${child.stderrText()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const url = /listening on (https:\/\/\S+)/.exec(child.stderrText())![1]!;
  const pin = /TLS pin: (\S+).*\n/.exec(child.stderrText())![1]!;
  return { child, url, pin };
}
