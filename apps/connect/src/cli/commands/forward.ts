import { describeError, type ConnectError } from '../../core/next-action.js';
import { nextStep } from '../next-step.js';
import { BurstNotices } from '../../core/forwards/burst-notices.js';
import { ForwardManager } from '../../core/forwards/forward-manager.js';
import type { SessionClosedEvent, VmSession } from '../../core/session/types.js';
import type { CliContext } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import type { ForwardSpec } from '../forward-spec.js';
import { keepRunningAfterBugs } from '../process-policy.js';
import { onTerminationSignals } from '../signals.js';

/** Failures a new session cannot fix: stop and say why instead of reconnecting. */
const FINAL = new Set([
  'revoked',
  'user_disabled',
  'host_key_mismatch',
  'relay_pin_mismatch',
  'vm_not_found',
  'auth_failed',
  'login_failed',
  'certificate_required',
  'bad_relay_url',
  'not_enrolled',
]);

const BACKOFF_MS = [1_000, 2_000, 4_000, 8_000, 15_000, 30_000];

/**
 * `airlock forward <vm> <remote>[:<local>]…`: all forwards on one session, bound to 127.0.0.1,
 * until Ctrl-C or SIGTERM (exit 0). When the session ends for a reason a new session can fix (the
 * agent restarted, the network dropped, the token expired) the listeners stay and a new session
 * is put under them; a revocation or another final refusal ends the command (exit 255).
 */
export async function forwardCommand(
  ctx: CliContext,
  vm: string,
  specs: ForwardSpec[],
  opts: { json?: boolean },
): Promise<number> {
  // From here on this process serves many connections for a long time (see process-policy.ts).
  keepRunningAfterBugs();
  const first = await ctx.openVmSession(vm);
  if (!first.ok) throw CliError.from(first.error);
  let session = first.value;
  let stopSignals = () => {};
  const stopped = new Promise<'stopped'>((resolve) => {
    stopSignals = onTerminationSignals(() => resolve('stopped'));
  });
  const manager = new ForwardManager(session, { keepListeners: true });
  const notices = new BurstNotices((line) => process.stderr.write(`airlock: ${line}\n`));
  manager.onEvent((e) => {
    const error = e.type === 'connection-refused' ? e.error : e.type === 'connection-closed' ? e.failure : undefined;
    if (!error) return;
    const hint = nextStep(error);
    notices.notice(
      `${e.remotePort} ${error.code}`,
      `connection to ${vm}:${e.remotePort} failed: ${describeError(error)}${hint ? ` — ${hint}` : ''}`,
      (n) => `${n} more connection${n === 1 ? '' : 's'} to ${vm}:${e.remotePort} failed the same way`,
    );
  });
  try {
    // Fail fast on a port the ticket does not allow, before binding anything.
    for (const s of specs) {
      const allowed = await manager.checkPort(s.remotePort);
      if (!allowed.ok) throw CliError.from(allowed.error);
    }
    for (const s of specs) {
      const added = await manager.add(s.remotePort, s.localPort);
      if (!added.ok) throw CliError.from(added.error);
    }
    printForwards(manager, session, vm, opts.json);
    for (;;) {
      const ended = await Promise.race([closedEvent(session), stopped]);
      if (ended === 'stopped' || !ended.error) return EXIT.ok;
      if (FINAL.has(ended.error.code)) throw CliError.from(ended.error);
      process.stderr.write(`airlock: ${describeError(ended.error)}; reconnecting (forwards stay open)\n`);
      const next = await reopen(ctx, vm, stopped);
      if (next === 'stopped') return EXIT.ok;
      session = next;
      manager.replaceSession(session);
      process.stderr.write(`airlock: reconnected to ${vm} [session ${session.sessionId}]\n`);
    }
  } finally {
    stopSignals();
    notices.flush();
    await manager.close();
    await session.close();
  }
}

function printForwards(manager: ForwardManager, session: VmSession, vm: string, json?: boolean): void {
  const forwards = manager.forwards;
  if (json) {
    // One JSON object per line and forward, so a script can read them as they come.
    for (const f of forwards) process.stdout.write(JSON.stringify({ sessionId: session.sessionId, vm, ...f }) + '\n');
    return;
  }
  for (const f of forwards) process.stdout.write(`forwarding ${f.localAddress} -> ${vm}:${f.remotePort}\n`);
  if (process.stderr.isTTY) process.stderr.write('press Ctrl-C to stop\n');
}

function closedEvent(session: VmSession): Promise<SessionClosedEvent> {
  return new Promise((resolve) => session.onClosed(resolve));
}

/**
 * A new session to `vm`, trying again with backoff while the failure is one time may fix (VM
 * offline, relay unreachable…). Logging in again when the token expired is `openVmSession`'s job
 * (it asks on a terminal, or fails with "run `airlock login`").
 */
async function reopen(ctx: CliContext, vm: string, stopped: Promise<'stopped'>): Promise<VmSession | 'stopped'> {
  for (let attempt = 0; ; attempt++) {
    const opened = await Promise.race([ctx.openVmSession(vm), stopped]);
    if (opened === 'stopped') return 'stopped';
    if (opened.ok) return opened.value;
    const error: ConnectError = opened.error;
    if (FINAL.has(error.code)) throw CliError.from(error);
    const wait = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]!;
    process.stderr.write(`airlock: ${describeError(error)}; retrying in ${Math.round(wait / 1000)} s\n`);
    let timer: NodeJS.Timeout | undefined;
    const slept = await Promise.race([
      new Promise<'slept'>((r) => (timer = setTimeout(() => r('slept'), wait))),
      stopped,
    ]);
    clearTimeout(timer);
    if (slept === 'stopped') return 'stopped';
  }
}
