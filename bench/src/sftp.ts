// SFTP throughput with OpenSSH's own `sftp` client: through `airlock sftp-stdio` (Connect, relay,
// agent, OpenSSH's sftp-server in the "VM") and, for comparison, straight to the private sshd.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bashChildrenCpuSeconds, CpuMeter } from './cpu.js';
import { PathRuns, type PathResult } from './path-runs.js';

/** A file of `bytes` random bytes (incompressible) at `path`. */
export function makeFile(path: string, bytes: number): void {
  const block = randomBytes(1024 * 1024);
  const parts: Buffer[] = [];
  for (let left = bytes; left > 0; left -= block.length)
    parts.push(left >= block.length ? block : block.subarray(0, left));
  writeFileSync(path, Buffer.concat(parts));
}

/**
 * The program sftp talks through (`ssh`, or `airlock sftp-stdio`), wrapped in a script that runs it
 * and then writes its CPU time to `timesFile` (bash's `times`, which knows a waited-for child's
 * user and system time): so the client's side splits into sftp's own CPU and the transport's.
 */
export interface Transport {
  /** What sftp starts: its `-S` (a program given ssh's arguments) or `-D` (a whole command). */
  option: '-S' | '-D';
  script: string;
  timesFile: string;
  /** The transport's name in the CPU breakdown. */
  name: string;
}

export function wrapTransport(dir: string, name: string, option: Transport['option'], command: string[]): Transport {
  const script = join(dir, `sftp-transport-${name}`);
  const timesFile = `${script}.times`;
  const quoted = command.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  writeFileSync(script, `#!/bin/bash\n${quoted} "$@"\ns=$?\ntimes > '${timesFile}'\nexit $s\n`);
  chmodSync(script, 0o700);
  return { option, script, timesFile, name };
}

/**
 * Runs `sftp <args> -b <batch>` `runs` times (get or put of `file`, `bytes` long), measuring MB/s
 * and the CPU of the client's process tree and of `programs` (the far side).
 */
export async function measureSftp(opts: {
  args: string[];
  transport: Transport;
  direction: 'get' | 'put';
  file: string;
  dir: string;
  bytes: number;
  runs: number;
  programs: Record<string, number | undefined>;
}): Promise<PathResult> {
  const recorded = new PathRuns();
  const target = join(opts.dir, `sftp-${opts.direction}-copy`);
  const batch = opts.direction === 'get' ? `get ${opts.file} ${target}\n` : `put ${opts.file} ${target}\n`;
  for (let i = 0; i < opts.runs; i++) {
    // The client's CPU (sftp and the ssh or airlock it runs) is only readable once it has been
    // waited for: bash's `times` reports its children's user and system time.
    rmSync(opts.transport.timesFile, { force: true });
    const sftpArgs = [opts.transport.option, opts.transport.script, ...opts.args];
    const child = spawn('bash', ['-c', 'sftp -q -b - "$@"; s=$?; times >&2; exit $s', 'sftp', ...sftpArgs], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const reading = new CpuMeter(opts.programs).start();
    const t0 = performance.now();
    child.stdin.end(batch);
    const [code] = (await once(child, 'close')) as [number | null];
    const seconds = (performance.now() - t0) / 1000;
    const measured = reading.stop();
    if (code !== 0) throw new Error(`sftp ${opts.direction} exited ${code}: ${err}`);
    const client = bashChildrenCpuSeconds(err);
    const transport = bashChildrenCpuSeconds(readFileSync(opts.transport.timesFile, 'utf8'));
    const used = { ...measured, [opts.transport.name]: transport, sftp: client - transport };
    if (statSync(target).size !== opts.bytes)
      throw new Error(`sftp ${opts.direction} copied ${statSync(target).size} of ${opts.bytes} bytes`);
    rmSync(target);
    recorded.add(opts.bytes, opts.bytes / 1e6 / seconds, used);
  }
  return recorded.result();
}
