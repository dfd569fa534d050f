// Bulk transfers beside OpenSSH's: OpenSSH's sftp client through `airlock sftp-stdio` and straight
// to sshd, and a remote command's output into a local pipe (`airlock exec` and `ssh`).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_VM } from '../bench-system.js';
import { measureExecPipe } from '../exec-pipe.js';
import type { PrivateSshd } from '../openssh.js';
import { airlockBin } from '../processes.js';
import { makeFile, measureSftp, wrapTransport } from '../sftp.js';
import { showSpread } from '../stats.js';
import { describeCpu, type PathResult } from '../throughput.js';
import type { SectionContext } from './context.js';

export async function measureSftpSection(ctx: SectionContext, sshd: PrivateSshd): Promise<Record<string, PathResult>> {
  const { sys, table, bytes, runs } = ctx;
  const sftp: Record<string, PathResult> = {};
  const paths = {
    airlock: {
      transport: wrapTransport(sys.tmp, 'sftp-stdio', '-D', [airlockBin, 'sftp-stdio', BENCH_VM]),
      args: [],
      programs: { relay: sys.relay.child.pid, agent: sys.agent.child.pid },
    },
    openssh: {
      transport: wrapTransport(sys.tmp, 'ssh', '-S', ['ssh']),
      args: sshd.sftpArgs,
      programs: { sshd: sshd.pid },
    },
  };
  await withSourceFile(ctx, 'sftp-source', async (file) => {
    for (const direction of ['get', 'put'] as const)
      for (const [name, p] of Object.entries(paths))
        sftp[`${name}-${direction}`] = await measureSftp({ ...p, direction, file, dir: sys.tmp, bytes, runs });
  });
  for (const direction of ['get', 'put'] as const) {
    const a = sftp[`airlock-${direction}`]!;
    const o = sftp[`openssh-${direction}`]!;
    const what = direction === 'get' ? 'download' : 'upload';
    table.row(`SFTP ${what} via relay (sftp -D "airlock sftp-stdio") MB/s`, showSpread(a.mbps), '');
    table.row(`SFTP ${what} OpenSSH sftp → sshd MB/s`, showSpread(o.mbps), '');
    table.row(`SFTP ${what}: airlock ÷ OpenSSH (MB/s medians)`, (a.mbps.median / o.mbps.median).toFixed(2), '');
    table.row(`SFTP ${what} CPU-s/GB: airlock ${describeCpu(a)}; OpenSSH ${describeCpu(o)}`, '', '');
  }
  return sftp;
}

export async function measurePipeSection(ctx: SectionContext, sshd: PrivateSshd): Promise<Record<string, PathResult>> {
  const { sys, table, bytes, runs } = ctx;
  const pipe = await withSourceFile(ctx, 'pipe-source', (file) =>
    measureExecPipe(
      {
        airlock: {
          command: [airlockBin, 'exec', BENCH_VM, '--'],
          programs: { relay: sys.relay.child.pid, agent: sys.agent.child.pid },
        },
        openssh: { command: ['ssh', ...sshd.sshArgs], programs: { sshd: sshd.pid } },
      },
      { file, bytes, runs },
    ),
  );
  const a = pipe.airlock!;
  const o = pipe.openssh!;
  table.row('`airlock exec vm -- cat file | wc -c` MB/s', showSpread(a.mbps), '');
  table.row('`ssh host cat file | wc -c` MB/s', showSpread(o.mbps), '');
  table.row('exec into a pipe: airlock ÷ ssh (MB/s medians)', (a.mbps.median / o.mbps.median).toFixed(2), '');
  table.row(`exec into a pipe CPU-s/GB: airlock ${describeCpu(a)}; OpenSSH ${describeCpu(o)}`, '', '');
  return pipe;
}

/**
 * Runs `measure` with a file of the run's size to move, and with Connect's home in the environment:
 * the Airlock commands it starts (through sftp's -D, or a shell pipeline) inherit it.
 */
async function withSourceFile<T>(ctx: SectionContext, name: string, measure: (file: string) => Promise<T>): Promise<T> {
  const file = join(ctx.sys.tmp, name);
  makeFile(file, ctx.bytes);
  process.env.AIRLOCK_HOME = ctx.sys.home;
  try {
    return await measure(file);
  } finally {
    delete process.env.AIRLOCK_HOME;
    rmSync(file);
  }
}
