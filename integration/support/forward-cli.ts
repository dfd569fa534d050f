import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { within } from '@airlock/shared/testing';

/** A running `airlock forward … --json`, with the local ports it printed. */
export interface ForwardCli {
  child: ChildProcess;
  /** The local port forwarding to `remotePort`. */
  localPort(remotePort: number): number;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  stop(): Promise<void>;
}

/** Waits (up to 20 s) until the forward printed one JSON line per forward; all must bind loopback. */
export async function forwardStarted(child: ChildProcess, forwards: number): Promise<ForwardCli> {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const lines = () => out.split('\n').filter((l) => l.startsWith('{'));
  const deadline = Date.now() + 20_000;
  while (lines().length < forwards) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`forward did not start: ${out} ${err}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  const printed = lines().map((l) => JSON.parse(l) as { remotePort: number; localPort: number; localHost: string });
  for (const p of printed) if (p.localHost !== '127.0.0.1') throw new Error(`forward bound ${p.localHost}`);
  return {
    child,
    localPort(remotePort) {
      const p = printed.find((x) => x.remotePort === remotePort);
      if (!p) throw new Error(`no forward for ${remotePort}`);
      return p.localPort;
    },
    stderr: () => err,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      // The forward exits within its 5 s close grace; one that does not is a finding, named here,
      // rather than a test file that hangs until the runner's timeout.
      try {
        await within(exited, 15_000, 'airlock forward to exit after SIGTERM');
      } catch (e) {
        child.kill('SIGKILL');
        throw new Error(`${(e as Error).message}; its stderr: ${err.slice(-2000)}`, { cause: e });
      }
    },
  };
}

/**
 * `airlock forward <vm> <ports…> --json` with the system's CLI environment and another Connect
 * home (one whose relay URL points through a proxy), started and its ports read.
 */
export function forwardVia(
  cli: { airlockBin: string; vm: string; cliEnv: Record<string, string> },
  home: string,
  ports: number[],
  env: Record<string, string> = {},
): Promise<ForwardCli> {
  const child = spawn(cli.airlockBin, ['forward', cli.vm, ...ports.map(String), '--json'], {
    env: { ...process.env, ...cli.cliEnv, AIRLOCK_HOME: home, ...env },
    stdio: 'pipe',
  });
  return forwardStarted(child, ports.length);
}
