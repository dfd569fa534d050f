// Session start-up (ticket → exit of `true`, step by step), the TLS handshakes it rests on, and
// keystroke echo through a PTY: via the relay, through `airlock shell -t`, without the relay and
// with OpenSSH.
import { measureCliEcho, measureOpensshEcho, measureSessionEcho, type EchoLatency } from '../echo.js';
import { BENCH_VM } from '../bench-system.js';
import { connectDirect } from '../direct-session.js';
import { airlockBin } from '../processes.js';
import { median } from '../stats.js';
import { measureTlsHandshakes, type HandshakeCost } from '../tls-handshakes.js';
import type { SectionContext } from './context.js';

const SETUP_TURNS = 15;
/** Sessions opened one after another on the same relay and agent in the echo section. */
const NEXT_SESSIONS = 5;

export async function measureSetupSection({ sys, table }: SectionContext) {
  const setup: number[] = [];
  const steps = new Map<string, number[]>();
  const at = (step: string, ms: number) => steps.set(step, [...(steps.get(step) ?? []), ms]);
  for (let i = 0; i < SETUP_TURNS; i++) {
    const t0 = performance.now();
    const s = await sys.newSession((step) => at(step, performance.now() - t0));
    const ex = await s.exec('true');
    if (!ex.ok) throw new Error(ex.error.message);
    at('exec channel open', performance.now() - t0);
    await ex.value.exit;
    setup.push(performance.now() - t0);
    await s.close();
  }
  const stepMedians = Object.fromEntries([...steps].map(([k, v]) => [k, median(v)]));
  table.row('session setup, ticket → exit of `true` (ms, median)', median(setup), '');
  const reached = Object.entries(stepMedians).map(([k, v]) => `${k} ${v.toFixed(0)}`);
  table.row('  each step reached at (ms from the start, medians)', reached.join(', '), '');
  return { sessionSetupMs: median(setup), sessionSetupStepsMs: stepMedians };
}

export async function measureTlsSection({ table }: SectionContext) {
  const tls = await measureTlsHandshakes();
  const show = (c: HandshakeCost) => `${c.medianMs.toFixed(2)} / ${c.cpuMs.toFixed(2)}`;
  table.row('TLS handshake, P-256 relay and login certificates: median / CPU of both ends (ms)', show(tls.minted), '');
  table.row('  the same with RSA-3072 and RSA-2048, as minted before stop 20 (ms)', show(tls.rsaBefore), '');
  return tls;
}

/** One byte through a PTY running `cat` in raw mode; `warmup` keystrokes between cold and warm figures. */
export async function measureEchoSection({ sys, table }: SectionContext, warmup: number) {
  const viaRelay = await measureSessionEcho(await sys.newSession(), warmup);
  // New sessions on the same relay and agent, one after another: a terminal opened on a VM
  // whose agent has served sessions before. The first few still run per-session code V8 has
  // not optimised yet; the later ones show the steady state.
  const viaRelayNextSessions: EchoLatency[] = [];
  for (let i = 0; i < NEXT_SESSIONS; i++)
    viaRelayNextSessions.push(await measureSessionEcho(await sys.newSession(), 0));
  const viaRelayCli = await measureCliEcho(airlockBin, sys.home, BENCH_VM, warmup);
  const withoutRelay = await measureSessionEcho(
    await connectDirect(sys.direct.info, sys.credentials, [sys.sourcePort]),
    warmup,
  );
  const openssh = sys.sshd ? await measureOpensshEcho(sys.sshd, warmup) : undefined;
  const echoRows = (label: string, e: EchoLatency | undefined) => {
    table.row(`${label} p50 / p99 (ms)`, e?.p50.toFixed(2) ?? 'n/a', e?.p99.toFixed(2) ?? 'n/a');
    if (e?.warm)
      table.row(`  the same after ${e.warm.after} keystrokes (warm)`, e.warm.p50.toFixed(2), e.warm.p99.toFixed(2));
  };
  echoRows('keystroke echo via relay', viaRelay);
  table.row(
    `  ${NEXT_SESSIONS} new sessions after it, in turn: p99 (ms)`,
    viaRelayNextSessions.map((e) => e.p99.toFixed(1)).join(' '),
    '',
  );
  echoRows('keystroke echo via relay, through `airlock shell -t`', viaRelayCli);
  echoRows('keystroke echo without relay', withoutRelay);
  echoRows('keystroke echo, OpenSSH ssh -tt → sshd', openssh);
  return { viaRelay, viaRelayNextSessions, viaRelayCli, withoutRelay, openssh };
}
