// A remote command's output into a local pipe, as `ssh host tar c dir | tar x` is used: `airlock
// exec vm -- cat <file> | wc -c` beside `ssh host cat <file> | wc -c`, in turns.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { bashChildrenCpuSeconds, CpuMeter } from './cpu.js';
import { PathRuns, type PathResult } from './path-runs.js';

export interface ExecPipePath {
  /** The local command up to the remote one: `airlock exec vm --`, `ssh … host`. */
  command: string[];
  /** The far side's programs (relay, agent; sshd), measured from /proc. */
  programs: Record<string, number | undefined>;
}

/**
 * Runs `<command> cat <file> | wc -c` `runs` times for each path, in turns; checks that every
 * byte came through, and reads the local side's CPU from bash's `times`.
 */
export async function measureExecPipe(
  paths: Record<string, ExecPipePath>,
  o: { file: string; bytes: number; runs: number },
): Promise<Record<string, PathResult>> {
  const recorded: Record<string, PathRuns> = {};
  for (let i = 0; i < o.runs; i++)
    for (const [name, path] of Object.entries(paths)) {
      const reading = new CpuMeter(path.programs).start();
      const t0 = performance.now();
      const { counted, stderr, code } = await runPipeline([...path.command, 'cat', o.file]);
      const seconds = (performance.now() - t0) / 1000;
      const far = reading.stop();
      if (code !== 0) throw new Error(`${name}: the pipeline exited ${code}: ${stderr}`);
      if (counted !== o.bytes) throw new Error(`${name}: ${counted} of ${o.bytes} bytes came through`);
      // `client`: the local command and `wc`.
      const used = { ...far, client: bashChildrenCpuSeconds(stderr) };
      (recorded[name] ??= new PathRuns()).add(o.bytes, o.bytes / 1e6 / seconds, used);
    }
  return Object.fromEntries(Object.entries(recorded).map(([name, r]) => [name, r.result()]));
}

async function runPipeline(command: string[]): Promise<{ counted: number; stderr: string; code: number | null }> {
  // pipefail: a remote command that failed is not hidden by wc's success.
  const child = spawn(
    'bash',
    ['-c', 'set -o pipefail; "$@" | wc -c; s=$?; times >&2; exit $s', 'exec-pipe', ...command],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { counted: Number(stdout.trim()), stderr, code };
}
