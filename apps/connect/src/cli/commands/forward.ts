import { BurstNotices } from '../../core/forwards/burst-notices.js';
import { ForwardSupervisor, type SupervisorEvent } from '../../core/forwards/forward-supervisor.js';
import { describeError } from '../../core/next-action.js';
import type { CliContext } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import type { ForwardSpec } from '../forward-spec.js';
import { nextStep } from '../next-step.js';
import { keepRunningAfterBugs } from '../process-policy.js';
import { onTerminationSignals } from '../signals.js';

/**
 * `airlock forward <vm> <remote>[:<local>]…`: all forwards on one session, bound to 127.0.0.1,
 * until Ctrl-C or SIGTERM (exit 0). Core's ForwardSupervisor keeps them: when the session ends for
 * a reason a new session can fix (the agent restarted, the network dropped, the token expired) the
 * listeners stay and a new session is put under them; a revocation or another final refusal ends
 * the command (exit 255). This prints what it says.
 */
export async function forwardCommand(
  ctx: CliContext,
  vm: string,
  specs: ForwardSpec[],
  opts: { json?: boolean },
): Promise<number> {
  // From here on this process serves many connections for a long time (see process-policy.ts).
  keepRunningAfterBugs();
  const started = await ForwardSupervisor.start({ vm, openSession: () => ctx.openVmSession(vm) });
  if (!started.ok) throw CliError.from(started.error);
  const supervisor = started.value;
  const stopSignals = onTerminationSignals(() => void supervisor.stop());
  const notices = new BurstNotices((line) => process.stderr.write(`airlock: ${line}\n`));
  supervisor.onEvent((e) => report(e, vm, notices));
  try {
    // Fail fast on a port the ticket does not allow, before binding anything.
    for (const s of specs) {
      const allowed = await supervisor.manager.checkPort(s.remotePort);
      if (!allowed.ok) throw CliError.from(allowed.error);
    }
    for (const s of specs) {
      const added = await supervisor.manager.add(s.remotePort, s.localPort);
      if (!added.ok) throw CliError.from(added.error);
    }
    printForwards(supervisor, vm, opts.json);
    const { error } = await supervisor.done;
    if (error) throw CliError.from(error);
    return EXIT.ok;
  } finally {
    stopSignals();
    notices.flush();
    await supervisor.stop();
  }
}

function report(e: SupervisorEvent, vm: string, notices: BurstNotices): void {
  switch (e.type) {
    case 'reconnecting':
      process.stderr.write(
        e.attempt === 0
          ? `airlock: ${describeError(e.error)}; reconnecting (forwards stay open)\n`
          : `airlock: ${describeError(e.error)}; retrying in ${Math.round(e.retryInMs / 1000)} s\n`,
      );
      return;
    case 'reconnected':
      process.stderr.write(`airlock: reconnected to ${vm} [session ${e.sessionId}]\n`);
      return;
    case 'connection-refused':
    case 'connection-closed': {
      const error = e.type === 'connection-refused' ? e.error : e.failure;
      if (!error) return;
      const hint = nextStep(error);
      notices.notice(
        `${e.remotePort} ${error.code}`,
        `connection to ${vm}:${e.remotePort} failed: ${describeError(error)}${hint ? ` — ${hint}` : ''}`,
        (n) => `${n} more connection${n === 1 ? '' : 's'} to ${vm}:${e.remotePort} failed the same way`,
      );
      return;
    }
    default:
      return;
  }
}

function printForwards(supervisor: ForwardSupervisor, vm: string, json?: boolean): void {
  const forwards = supervisor.manager.forwards;
  const { sessionId } = supervisor.session;
  if (json) {
    // One JSON object per line and forward, so a script can read them as they come.
    for (const f of forwards) process.stdout.write(JSON.stringify({ sessionId, vm, ...f }) + '\n');
    return;
  }
  for (const f of forwards) process.stdout.write(`forwarding ${f.localAddress} -> ${vm}:${f.remotePort}\n`);
  if (process.stderr.isTTY) process.stderr.write('press Ctrl-C to stop\n');
}
