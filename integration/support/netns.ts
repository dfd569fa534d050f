import { execFileSync } from 'node:child_process';

/**
 * A network namespace joined to this one by a veth pair, for tests that take a link down (a real
 * partition: packets are dropped, nobody is told, TCP just stops getting answers). Needs root and
 * `ip` (iproute2); `netnsUnavailable()` says why not when it cannot run.
 */
export class NetnsLink {
  readonly name: string;
  /** The address on this side (where the relay listens) and inside the namespace. */
  readonly hostAddress: string;
  readonly nsAddress: string;
  private readonly hostIf: string;

  private constructor(id: number) {
    this.name = `airlock-t${id}`;
    this.hostIf = `alk${id}h`;
    const octet = 16 + (id % 200);
    this.hostAddress = `10.251.${octet}.1`;
    this.nsAddress = `10.251.${octet}.2`;
  }

  static create(): NetnsLink {
    const link = new NetnsLink(process.pid % 100_000);
    link.remove(); // a run that was killed may have left it
    const nsIf = `${link.hostIf.slice(0, -1)}n`;
    try {
      ip('netns', 'add', link.name);
      ip('link', 'add', link.hostIf, 'type', 'veth', 'peer', 'name', nsIf);
      ip('link', 'set', nsIf, 'netns', link.name);
      ip('addr', 'add', `${link.hostAddress}/30`, 'dev', link.hostIf);
      ip('link', 'set', link.hostIf, 'up');
      ip('-n', link.name, 'addr', 'add', `${link.nsAddress}/30`, 'dev', nsIf);
      ip('-n', link.name, 'link', 'set', nsIf, 'up');
      ip('-n', link.name, 'link', 'set', 'lo', 'up');
    } catch (error) {
      link.remove();
      throw error;
    }
    return link;
  }

  /** Takes the link down (true) or brings it back (false). */
  down(on: boolean): void {
    ip('link', 'set', this.hostIf, on ? 'down' : 'up');
  }

  /** The command line that runs `argv` inside the namespace. */
  exec(argv: string[]): [string, string[]] {
    return ['ip', ['netns', 'exec', this.name, ...argv]];
  }

  /** Removes the namespace and the veth pair (both ends go with the namespace's). Never throws. */
  remove(): void {
    for (const args of [
      ['link', 'del', this.hostIf],
      ['netns', 'del', this.name],
    ])
      try {
        ip(...args);
      } catch {
        // not there
      }
  }
}

export function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

/** Why network namespaces cannot be used here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore', timeout: 5000 });
  } catch {
    return '`ip netns` is not available (install iproute2)';
  }
  return undefined;
}
