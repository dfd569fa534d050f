// Whole commands, as a person runs them: `airlock exec vm -- true` beside `ssh host true`, on
// loopback and over a 40 ms round trip.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { homeVia } from './bench-user.js';
import { startDelayProxy } from './delay-proxy.js';
import type { PrivateSshd } from './openssh.js';
import { airlockBin, repoRoot } from './processes.js';
import { median } from './stats.js';

interface Command {
  args: string[];
  env?: Record<string, string>;
}

export interface CommandTimes {
  /** Medians (ms) on loopback: airlockExecTrue, airlockHelp, nodeNothing, sshTrue, bundle…, baseline…. */
  loopback: Record<string, number>;
  /** Medians (ms) through delaying proxies (40 ms round trip): airlockExecTrue, sshTrue, bundle…, baseline…. */
  rtt40: Record<string, number>;
}

/** Seven timed turns after a warm-up (V8's compile cache is written then), one of each command per turn. */
const TURNS = 8;

export async function measureCommands(o: {
  home: string;
  tmp: string;
  relayUrl: string;
  sshd: PrivateSshd | undefined;
  rttMs: number;
  /** An older build's `airlock.mjs`, copied out of .tools/dist with its chunks and airlock-script.js: its exec in the same turns. */
  baseline: string | undefined;
}): Promise<CommandTimes> {
  const execTrue = (home: string, bin: string[] = [airlockBin]): Command => ({
    args: [...bin, 'exec', 'bench-vm', '--', 'true'],
    env: { AIRLOCK_HOME: home },
  });
  const commands: Record<string, Command> = {
    airlockExecTrue: execTrue(o.home),
    airlockHelp: { args: [airlockBin, '--help'] },
    nodeNothing: { args: [process.execPath, '-e', '0'] },
    ...(o.sshd ? { sshTrue: { args: ['ssh', ...o.sshd.sshArgs, 'true'] } } : {}),
  };
  // The baseline runs its bundle with node directly: so does `bundleExecTrue`, this build's
  // bundle without the repo's wrapper script (which checks the bundle is current: a shell and a
  // glob, ~20–25 ms on a slow VM).
  const bundle = [process.execPath, join(repoRoot, '.tools', 'dist', 'airlock.mjs')];
  if (o.baseline) {
    commands.bundleExecTrue = execTrue(o.home, bundle);
    commands.baselineExecTrue = execTrue(o.home, [process.execPath, o.baseline]);
    commands.baselineHelp = { args: [process.execPath, o.baseline, '--help'] };
  }
  // spawnSync blocks this process, which would starve its own sockets: nothing of this process
  // may be on the commands' path here.
  const loopback = await inTurns(commands, async (c) => {
    const t0 = performance.now();
    const r = spawnSync(c.args[0]!, c.args.slice(1), { env: { ...process.env, ...c.env }, stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${c.args.join(' ')} exited ${r.status}`);
    return performance.now() - t0;
  });

  // Over the delaying proxies, which run in this process: the commands are awaited, not blocked on.
  const oneWay = o.rttMs / 2;
  const relayProxy = await startDelayProxy(Number(new URL(o.relayUrl).port), oneWay);
  const sshProxy = o.sshd ? await startDelayProxy(o.sshd.port, oneWay) : undefined;
  try {
    const home40 = join(o.tmp, 'connect-40-commands');
    homeVia(o.home, home40, `https://127.0.0.1:${relayProxy.port}`);
    const far: Record<string, Command> = { airlockExecTrue: execTrue(home40) };
    // ssh takes the first -p it is given.
    if (o.sshd && sshProxy) far.sshTrue = { args: ['ssh', '-p', String(sshProxy.port), ...o.sshd.sshArgs, 'true'] };
    if (o.baseline) {
      far.bundleExecTrue = execTrue(home40, bundle);
      far.baselineExecTrue = execTrue(home40, [process.execPath, o.baseline]);
    }
    const rtt40 = await inTurns(far, timeAsync);
    return { loopback, rtt40 };
  } finally {
    relayProxy.server.close();
    sshProxy?.server.close();
  }
}

async function inTurns(
  commands: Record<string, Command>,
  time: (c: Command) => Promise<number>,
): Promise<Record<string, number>> {
  const times: Record<string, number[]> = {};
  for (let i = 0; i < TURNS; i++)
    for (const [name, c] of Object.entries(commands)) {
      const ms = await time(c);
      if (i > 0) (times[name] ??= []).push(ms);
    }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}

function timeAsync(c: Command): Promise<number> {
  const t0 = performance.now();
  const child = spawn(c.args[0]!, c.args.slice(1), { env: { ...process.env, ...c.env }, stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(performance.now() - t0);
      else reject(new Error(`${c.args.join(' ')} exited ${code}`));
    });
  });
}
