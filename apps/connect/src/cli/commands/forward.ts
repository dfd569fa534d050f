import { portNotAllowed } from '../../core/channel-opener.js';
import { ForwardManager } from '../../core/forward-manager.js';
import { describeError, nextStep } from '../../core/explain.js';
import type { CliContext } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import type { ForwardSpec } from '../forward-spec.js';
import { onTerminationSignals } from '../signals.js';

/**
 * `airlock forward <vm> <remote>[:<local>]…`: all forwards on one session, bound to 127.0.0.1,
 * until Ctrl-C or SIGTERM (exit 0) or until the session ends (exit 255).
 */
export async function forwardCommand(
  ctx: CliContext,
  vm: string,
  specs: ForwardSpec[],
  opts: { json?: boolean },
): Promise<number> {
  return ctx.withVmSession(vm, async (session) => {
    // Fail fast on a port the ticket does not allow, before binding anything.
    for (const s of specs) {
      if (!session.ports.includes(s.remotePort))
        throw CliError.from(portNotAllowed(session.sessionId, vm, s.remotePort, session.ports));
    }
    const manager = new ForwardManager(session);
    manager.onEvent((e) => {
      if (e.type === 'connection-refused')
        process.stderr.write(
          `airlock: connection to ${vm}:${e.remotePort} failed: ${describeError(e.error)} — ${nextStep(e.error) ?? ''}\n`,
        );
    });
    try {
      for (const s of specs) {
        const added = await manager.add(s.remotePort, s.localPort);
        if (!added.ok) throw CliError.from(added.error);
      }
      const forwards = manager.forwards;
      if (opts.json) {
        // One JSON object per line and forward, so a script can read them as they come.
        for (const f of forwards)
          process.stdout.write(JSON.stringify({ sessionId: session.sessionId, vm, ...f }) + '\n');
      } else {
        for (const f of forwards) process.stdout.write(`forwarding ${f.localAddress} -> ${vm}:${f.remotePort}\n`);
        if (process.stderr.isTTY) process.stderr.write('press Ctrl-C to stop\n');
      }
      return await new Promise<number>((resolve, reject) => {
        const stopSignals = onTerminationSignals(() => {
          stopSignals();
          resolve(EXIT.ok);
        });
        session.onClosed((e) => {
          stopSignals();
          if (e.error) reject(CliError.from(e.error));
          else resolve(EXIT.ok);
        });
      });
    } finally {
      await manager.close();
    }
  });
}
