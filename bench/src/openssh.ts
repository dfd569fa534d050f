import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SSHD = ['/usr/sbin/sshd', '/usr/bin/sshd'].find((p) => existsSync(p));
/** The same sftp-server the agent runs for its sftp subsystem. */
export const SFTP_SERVER = '/usr/lib/openssh/sftp-server';

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Whether something accepts a TCP connection on 127.0.0.1:`port` now. */
export async function portAccepts(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise<boolean>((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

async function waitForPort(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await portAccepts(port)) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface PrivateSshd {
  port: number;
  /** The listening sshd; it forks a child per connection, so measure its process tree. */
  pid: number | undefined;
  /** Arguments for `ssh` that reach this sshd non-interactively with the generated key. */
  sshArgs: string[];
  /** The same for OpenSSH's `sftp` client (which spells the port -P). */
  sftpArgs: string[];
  stop(): void;
}

/**
 * A throwaway OpenSSH server on a private loopback port, for side-by-side numbers. Its host key,
 * client key and config live in a temp folder; it never touches the machine's own sshd.
 */
export async function startPrivateSshd(): Promise<PrivateSshd | { unavailable: string }> {
  if (!SSHD) return { unavailable: 'sshd not installed (apt-get install openssh-server)' };
  const dir = mkdtempSync(join(tmpdir(), 'airlock-bench-sshd-'));
  chmodSync(dir, 0o700);
  mkdirSync('/run/sshd', { recursive: true });
  for (const [name, type] of [
    ['host_key', 'ecdsa'],
    ['client_key', 'ecdsa'],
  ] as const) {
    const r = spawnSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', join(dir, name)]);
    if (r.status !== 0) return { unavailable: `ssh-keygen failed: ${r.stderr}` };
  }
  const { readFileSync } = await import('node:fs');
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')));
  chmodSync(join(dir, 'authorized_keys'), 0o600);
  const port = await freePort();
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'host_key')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'PermitRootLogin prohibit-password',
    'AllowTcpForwarding yes',
    `Subsystem sftp ${SFTP_SERVER}`,
    'Ciphers aes256-gcm@openssh.com',
    'LogLevel ERROR',
  ].join('\n');
  writeFileSync(join(dir, 'sshd_config'), config + '\n');
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: 'ignore' });
  await waitForPort(port, 5000);
  const user = process.env.USER ?? 'root';
  const options = [
    '-i',
    join(dir, 'client_key'),
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
    '-o',
    'BatchMode=yes',
    '-o',
    'Ciphers=aes256-gcm@openssh.com',
    '-o',
    'LogLevel=ERROR',
  ];
  return {
    port,
    pid: child.pid,
    sshArgs: ['-p', String(port), ...options, `${user}@127.0.0.1`],
    sftpArgs: ['-P', String(port), ...options, `${user}@127.0.0.1`],
    // The keys and config are throwaway: nothing of this sshd outlives the bench.
    stop: () => {
      child.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `ssh -N -L local:127.0.0.1:target` through the private sshd; resolves once the port listens. */
export async function startSshForward(
  sshd: PrivateSshd,
  targetPort: number,
  extraArgs: string[] = [],
): Promise<{ port: number; pid: number | undefined; stop(): void }> {
  const port = await freePort();
  const child = spawn('ssh', ['-N', '-L', `127.0.0.1:${port}:127.0.0.1:${targetPort}`, ...extraArgs, ...sshd.sshArgs], {
    stdio: 'ignore',
  });
  await waitForPort(port, 5000);
  return { port, pid: child.pid, stop: () => child.kill() };
}
