import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const PROGRAMS = ['/usr/sbin/xrdp', '/usr/bin/xfreerdp', '/usr/bin/xvfb-run', '/usr/bin/openssl'];

/** Why the real-RDP tests cannot run here, or false (`.ci/run` installs xrdp, freerdp2-x11, xvfb). */
export const rdpToolsMissing = PROGRAMS.some((p) => !existsSync(p))
  ? `needs ${PROGRAMS.filter((p) => !existsSync(p)).join(', ')} (.ci/run installs them)`
  : false;

export interface Xrdp {
  port: number;
  /** xrdp's log so far. */
  log(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  await new Promise((r) => probe.close(r));
  return port;
}

/**
 * A private xrdp on 127.0.0.1:<free port>, in the foreground, with its own certificate and log in
 * `dir` (the system's xrdp.ini otherwise). Ready when its log says it listens: it is not probed,
 * because xrdp bound to one address stops accepting after a connection that sends nothing.
 */
export async function startXrdp(dir: string): Promise<Xrdp> {
  const port = await freePort();
  const cert = join(dir, 'xrdp-cert.pem');
  const key = join(dir, 'xrdp-key.pem');
  const made = spawnSync('/usr/bin/openssl', [
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost'],
    ...['-keyout', key, '-out', cert],
  ]);
  if (made.status !== 0) throw new Error(`openssl: ${made.stderr.toString()}`);
  const logFile = join(dir, 'xrdp.log');
  const ini = readFileSync('/etc/xrdp/xrdp.ini', 'utf8')
    .replace(/^port=3389$/m, `port=tcp://127.0.0.1:${port}`)
    .replace(/^certificate=.*$/m, `certificate=${cert}`)
    .replace(/^key_file=.*$/m, `key_file=${key}`)
    .replace(/^LogFile=.*$/m, `LogFile=${logFile}`)
    .replace(/^EnableSyslog=.*$/m, 'EnableSyslog=false');
  writeFileSync(join(dir, 'xrdp.ini'), ini);
  const child: ChildProcess = spawn('/usr/sbin/xrdp', ['--nodaemon', '--config', join(dir, 'xrdp.ini')], {
    stdio: 'ignore',
  });
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const deadline = Date.now() + 20_000;
  while (!log().includes(`listening to port ${port} on 127.0.0.1`)) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`xrdp did not start: ${log()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    log,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/**
 * FreeRDP's `xfreerdp /auth-only` on an X server of its own (xvfb-run) with `args`: exits 0 once the
 * RDP connection and its TLS are up and credentials could be sent. Started asynchronously: a test's
 * relay runs in the test process, and a synchronous run would stall it (the session never opens
 * and the client gives up after ~40 s).
 */
export async function freerdpAuthOnly(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn('/usr/bin/xvfb-run', ['-a', '/usr/bin/xfreerdp', ...args, '/auth-only', '/cert:ignore'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, output };
}
