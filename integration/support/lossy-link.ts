import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ip, netnsUnavailable } from './netns.js';

const PYTHON = '/usr/bin/python3';
const WIRE = join(dirname(fileURLToPath(import.meta.url)), 'lossy-wire.py');

/**
 * A network namespace joined to this one through a wire that delays and loses Ethernet frames
 * (`lossy-wire.py`, in user space: this kernel has no `netem`). Two veth pairs: the namespace's
 * end of one, and this side's addressed end of the other; the wire copies frames between their
 * unaddressed ends, in this namespace. Loss 1 is a partition nobody is told about.
 */
export class LossyLink {
  readonly name: string;
  /** The address on this side (where the relay listens) and inside the namespace. */
  readonly hostAddress: string;
  readonly nsAddress: string;
  private readonly ifs: { ns: string; nsPeer: string; host: string; hostPeer: string };
  private wire: ChildProcess | undefined;
  private wireLog = '';

  private constructor(id: number) {
    this.name = `airlock-w${id}`;
    this.ifs = { ns: `alw${id}c0`, nsPeer: `alw${id}c1`, host: `alw${id}r0`, hostPeer: `alw${id}r1` };
    const octet = 16 + (id % 200);
    this.hostAddress = `10.250.${octet}.1`;
    this.nsAddress = `10.250.${octet}.2`;
  }

  static async create(o: { delayMs: number; loss: number }): Promise<LossyLink> {
    const link = new LossyLink(process.pid % 100_000);
    link.removeInterfaces(); // a run that was killed may have left them
    const { ns, nsPeer, host, hostPeer } = link.ifs;
    try {
      ip('netns', 'add', link.name);
      ip('link', 'add', ns, 'type', 'veth', 'peer', 'name', nsPeer);
      ip('link', 'add', host, 'type', 'veth', 'peer', 'name', hostPeer);
      ip('link', 'set', ns, 'netns', link.name);
      ip('-n', link.name, 'addr', 'add', `${link.nsAddress}/30`, 'dev', ns);
      ip('-n', link.name, 'link', 'set', ns, 'up');
      ip('-n', link.name, 'link', 'set', 'lo', 'up');
      ip('addr', 'add', `${link.hostAddress}/30`, 'dev', host);
      for (const i of [host, nsPeer, hostPeer]) ip('link', 'set', i, 'up');
      // The wire's ends carry frames for others: the kernel must neither answer ARP on them nor
      // drop what is not addressed to them.
      for (const i of [nsPeer, hostPeer]) ip('link', 'set', i, 'promisc', 'on', 'arp', 'off');
      // veth hands on 64 KiB segments when offloads are on; a frame must fit the wire's MTU.
      for (const i of [host, nsPeer, hostPeer]) ethtoolOffloadsOff(i);
      ethtoolOffloadsOff(ns, link.name);
      await link.startWire(o);
    } catch (error) {
      await link.remove();
      throw error;
    }
    return link;
  }

  private async startWire(o: { delayMs: number; loss: number }): Promise<void> {
    const { nsPeer, hostPeer } = this.ifs;
    const wire = spawn(PYTHON, [WIRE, nsPeer, hostPeer, String(o.delayMs), String(o.loss)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.wire = wire;
    wire.stdout!.on('data', (d: Buffer) => (this.wireLog += d.toString()));
    wire.stderr!.on('data', (d: Buffer) => (this.wireLog += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`the wire did not start: ${this.wireLog}`)), 10_000);
      wire.stdout!.on('data', () => {
        if (!this.wireLog.includes('ready')) return;
        clearTimeout(t);
        resolve();
      });
      wire.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`the wire exited (${code}): ${this.wireLog}`));
      });
    });
  }

  /** Changes how the wire treats frames from now on (loss 1: a partition). */
  set(o: { loss?: number; delayMs?: number }): void {
    if (o.loss !== undefined) this.wire!.stdin!.write(`loss ${o.loss}\n`);
    if (o.delayMs !== undefined) this.wire!.stdin!.write(`delay ${o.delayMs}\n`);
  }

  /** Frames the wire carried and dropped so far. */
  async stats(): Promise<{ frames: number; dropped: number }> {
    const before = this.wireLog.length;
    this.wire!.stdin!.write('stats\n');
    let m: RegExpExecArray | null = null;
    for (let i = 0; i < 100 && !m; i++) {
      await new Promise((r) => setTimeout(r, 20));
      m = /frames (\d+) dropped (\d+)/.exec(this.wireLog.slice(before));
    }
    if (!m) throw new Error(`the wire did not answer: ${this.wireLog.slice(-500)}`);
    return { frames: Number(m[1]), dropped: Number(m[2]) };
  }

  /** What the wire said (frames it could not send). */
  log(): string {
    return this.wireLog;
  }

  /** The command line that runs `argv` inside the namespace. */
  exec(argv: string[]): [string, string[]] {
    return ['ip', ['netns', 'exec', this.name, ...argv]];
  }

  /** Stops the wire and removes the namespace and both veth pairs. Never throws. */
  async remove(): Promise<void> {
    const wire = this.wire;
    this.wire = undefined;
    if (wire && wire.exitCode === null) {
      const exited = new Promise((r) => wire.once('exit', r));
      wire.kill();
      await exited;
    }
    this.removeInterfaces();
  }

  private removeInterfaces(): void {
    for (const args of [
      ['link', 'del', this.ifs.nsPeer],
      ['link', 'del', this.ifs.host],
      ['netns', 'del', this.name],
    ])
      try {
        ip(...args);
      } catch {
        // not there
      }
  }
}

function ethtoolOffloadsOff(ifname: string, netns?: string): void {
  const argv = ['ethtool', '-K', ifname, 'tso', 'off', 'gso', 'off', 'gro', 'off', 'tx', 'off'];
  const [cmd, ...args] = netns ? ['ip', 'netns', 'exec', netns, ...argv] : argv;
  execFileSync(cmd!, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

/** Why a lossy link cannot be made here, or undefined when it can. */
export function lossyLinkUnavailable(): string | undefined {
  const netns = netnsUnavailable();
  if (netns) return netns;
  if (!existsSync(PYTHON)) return `${PYTHON} is missing (the wire runs on it; install python3)`;
  try {
    execFileSync('ethtool', ['--version'], { stdio: 'ignore', timeout: 5000 });
  } catch {
    return '`ethtool` is missing (install ethtool: the wire needs offloads off)';
  }
  return undefined;
}
