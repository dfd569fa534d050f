// Throughput of one TCP forward: via the relay (`airlock forward`, and the same forward made in
// the app), the same SSH path without the relay, OpenSSH's `ssh -L` and raw TCP — on loopback
// and over a 40 ms round trip — with the CPU each path's programs spend per GB.
import { join } from 'node:path';
import { startAppForward } from '../app-forward.js';
import { BENCH_VM } from '../bench-system.js';
import { homeVia } from '../bench-user.js';
import { startDelayProxy } from '../delay-proxy.js';
import { startSshForward } from '../openssh.js';
import { showSpread } from '../stats.js';
import { describeCpu, measurePath, mergeRuns, type MeasuredPath, type PathResult } from '../throughput.js';
import type { SectionContext } from './context.js';

type Paths = Record<string, PathResult>;

/** Interleaved runs on loopback, so a burst of load from elsewhere on the machine hits every path alike. */
export async function measureLoopbackForwards({ sys, bytes, runs }: SectionContext): Promise<Paths> {
  const fRelay = await sys.forwardViaRelay(sys.home);
  const fDirect = await sys.forwardWithoutRelay(sys.direct.info.url);
  const relayPid = sys.relay.child.pid;
  const agentPid = sys.agent.child.pid;
  const paths: Record<string, MeasuredPath> = {
    viaRelay: {
      port: fRelay.info.localPort,
      programs: { connect: fRelay.child.pid, relay: relayPid, agent: agentPid },
    },
    withoutRelay: {
      port: fDirect.info.localPort,
      programs: { connect: fDirect.child.pid, agent: sys.direct.child.pid },
    },
    rawTcp: { port: sys.sourcePort, programs: {} },
  };
  const fApp = await startAppForward(sys.home, BENCH_VM, sys.sourcePort);
  sys.stopLater(fApp.stop);
  paths.viaApp = { port: fApp.port, programs: { ui: fApp.pid, relay: relayPid, agent: agentPid } };
  if (sys.sshd) {
    const s = await startSshForward(sys.sshd, sys.sourcePort);
    sys.stopLater(s.stop);
    paths.opensshL = { port: s.port, programs: { ssh: s.pid, sshd: sys.sshd.pid } };
  }
  const all: Record<string, PathResult[]> = {};
  for (let i = 0; i < runs; i++)
    for (const [name, path] of Object.entries(paths)) (all[name] ??= []).push(await measurePath(path, bytes, 1));
  return Object.fromEntries(Object.entries(all).map(([name, rs]) => [name, mergeRuns(rs)]));
}

/** The same paths with a delay proxy in front of the relay, the direct agent, sshd and the source. */
export async function measureDelayedForwards({ sys, bytes, rttMs }: SectionContext): Promise<Paths> {
  const oneWay = rttMs / 2;
  const relayProxy = await startDelayProxy(Number(new URL(sys.relay.info.url).port), oneWay);
  // Same login, other address: the token is bound to the client certificate, not to the URL.
  const homeFar = join(sys.tmp, 'connect-far');
  homeVia(sys.home, homeFar, `https://127.0.0.1:${relayProxy.port}`);
  const fRelay = await sys.forwardViaRelay(homeFar);
  const directProxy = await startDelayProxy(Number(new URL(sys.direct.info.url).port), oneWay);
  const fDirect = await sys.forwardWithoutRelay(`https://127.0.0.1:${directProxy.port}`);
  const paths: Record<string, MeasuredPath> = {
    viaRelay: { port: fRelay.info.localPort, programs: {} },
    withoutRelay: { port: fDirect.info.localPort, programs: {} },
  };
  if (sys.sshd) {
    const sshProxy = await startDelayProxy(sys.sshd.port, oneWay);
    const s = await startSshForward(sys.sshd, sys.sourcePort, ['-p', String(sshProxy.port)]);
    sys.stopLater(s.stop);
    paths.opensshL = { port: s.port, programs: {} };
  }
  paths.rawTcp = { port: (await startDelayProxy(sys.sourcePort, oneWay)).port, programs: {} };
  const out: Paths = {};
  for (const [name, path] of Object.entries(paths)) out[name] = await measurePath(path, bytes / 2, 2);
  return out;
}

/** Adds the forwards' rows; returns what goes into the results file. */
export function reportForwards(
  { table }: SectionContext,
  loopback: Paths,
  far: Paths,
): { throughputMBps: unknown; cpuSecondsPerGB: unknown } {
  for (const [k, label] of [
    ['viaRelay', 'forward via relay (airlock forward)'],
    ['viaApp', "the same forward made in the app (airlock ui's service)"],
    ['withoutRelay', 'same SSH path without the relay'],
    ['opensshL', 'OpenSSH ssh -L'],
    ['rawTcp', 'raw TCP'],
  ] as const)
    if (loopback[k] || far[k]) table.row(label + ' MB/s', showSpread(loopback[k]?.mbps), showSpread(far[k]?.mbps));
  for (const [k, label] of [
    ['viaRelay', 'CPU-s/GB via relay'],
    ['viaApp', 'CPU-s/GB via relay, forward made in the app'],
    ['withoutRelay', 'CPU-s/GB without the relay'],
    ['opensshL', 'CPU-s/GB OpenSSH ssh -L'],
  ] as const)
    if (loopback[k]) table.row(`${label}: ${describeCpu(loopback[k])}`, '', '');
  const medianRatio = (paths: Paths, a: string, b: string) =>
    paths[a] && paths[b] ? (paths[a].mbps.median / paths[b].mbps.median).toFixed(2) : '';
  if (loopback.viaRelay && loopback.withoutRelay)
    table.row(
      'relay overhead: via relay ÷ without (MB/s medians)',
      medianRatio(loopback, 'viaRelay', 'withoutRelay'),
      medianRatio(far, 'viaRelay', 'withoutRelay'),
    );
  if (loopback.viaRelay && loopback.opensshL)
    table.row('via relay ÷ ssh -L (MB/s medians)', medianRatio(loopback, 'viaRelay', 'opensshL'), '');
  return {
    throughputMBps: Object.fromEntries(
      ['viaRelay', 'viaApp', 'withoutRelay', 'opensshL', 'rawTcp'].map((k) => [
        k,
        { loopback: loopback[k]?.mbps ?? null, rtt40: far[k]?.mbps ?? null },
      ]),
    ),
    cpuSecondsPerGB: Object.fromEntries(
      Object.entries(loopback).map(([k, r]) => [k, { total: r.totalCpuSecondsPerGB, ...r.cpuSecondsPerGB }]),
    ),
  };
}
