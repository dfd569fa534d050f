import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const airlockBin = join(repoRoot, 'airlock');

export interface Child<T> {
  info: T;
  child: ChildProcess;
  /** SIGTERM, then SIGKILL after 5 s; resolves once the child has exited (its files are closed). */
  stop(): Promise<void>;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => (clearTimeout(kill), resolve()));
    child.kill('SIGTERM');
  });
}

/** Children started here and not yet exited, ready or still starting: a signal's cleanup stops them all. */
const live = new Set<ChildProcess>();
let stoppingAll = false;

/** Stops every child started here that still runs, and refuses to start any more (a tool is stopping). */
export async function stopEveryChild(): Promise<void> {
  stoppingAll = true;
  await Promise.all([...live].map(stopChild));
}

/** Starts a child and resolves with the first JSON line it prints on stdout. */
export function startJsonChild<T>(cmd: string, args: string[], env: Record<string, string> = {}): Promise<Child<T>> {
  if (stoppingAll) return Promise.reject(new Error(`not starting ${args.join(' ')}: the tool is stopping`));
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(child);
    child.once('exit', () => live.delete(child));
    let out = '';
    let err = '';
    const timer = setTimeout(() => fail(new Error(`${args.join(' ')} did not start: ${err}`)), 30_000);
    const fail = (e: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(e);
    };
    const onErr = (d: Buffer) => (err += d.toString());
    const onExit = (code: number | null) => fail(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`));
    const onOut = (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      // Once only, and only its own listeners: this ran on every later line too, and removed
      // any 'exit' listener added later, so a stop() waiting for the exit never heard it.
      child.off('exit', onExit);
      child.stdout.off('data', onOut);
      child.stderr.off('data', onErr);
      // Still drained, so a child that logs never blocks on a full pipe.
      child.stdout.resume();
      child.stderr.resume();
      resolve({ info: JSON.parse(out.slice(0, nl)) as T, child, stop: () => stopChild(child) });
    };
    child.stderr.on('data', onErr);
    child.on('exit', onExit);
    child.stdout.on('data', onOut);
  });
}

/**
 * The Node flags the long-running programs run with — the agent, the relay, `airlock forward` and
 * `airlock sftp-stdio` (scripts/long-running-node-flags, which scripts/run-ts.sh reads too) — so
 * the bench measures them as they are started.
 */
export function longRunningNodeFlags(
  file = join(repoRoot, 'scripts', 'long-running-node-flags'),
  nodeMajor = Number(process.versions.node.split('.')[0]),
  /** The flags of the CLI's other commands instead: the lines marked [all]. */
  shortCommand = false,
): string[] {
  // The same reading as scripts/run-ts.sh's (tested against it): words of each line that is
  // neither blank nor a comment, leading blanks and a trailing CR ignored; a line starting with
  // [all] for every program, the others only for the long-running ones; then a line starting with
  // [node<N] only for a Node older than N.
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .flatMap((line) => {
      let words = line.split(/\s+/);
      if (words[0] === '[all]') words = words.slice(1);
      else if (shortCommand) return [];
      if (words.length === 0 || words[0]!.startsWith('#')) return [];
      const below = /^\[node<(.*)\]$/.exec(words[0]!)?.[1];
      if (below === undefined) return words;
      return /^\d+$/.test(below) && nodeMajor < Number(below) ? words.slice(1) : [];
    });
}

/** Starts a TypeScript entry point under tsx. */
export const tsxChild = <T>(script: string, args: string[], env?: Record<string, string>, nodeFlags: string[] = []) =>
  startJsonChild<T>(process.execPath, [...nodeFlags, '--import', 'tsx', join(repoRoot, script), ...args], env);

/** The same, for what stands in for a long-running program (relay, agent, a forward): with its Node flags. */
export const longRunningChild = <T>(script: string, args: string[], env?: Record<string, string>) =>
  tsxChild<T>(script, args, env, longRunningNodeFlags());
