import connectPackage from '../../../package.json' with { type: 'json' };
import { runDoctor } from '../../core/diagnostics/doctor.js';
import type { DoctorReport } from '../../core/diagnostics/doctor-report.js';
import { KeychainCache } from '../../core/identity/keytar-secret-cache.js';
import type { CliContext } from '../context.js';
import { doctorText } from '../../core/diagnostics/doctor-text.js';

/** The doctor's run as the CLI does it: the OS keychain, this context's log and session journal. */
export function runCliDoctor(ctx: CliContext, vm?: string, port?: number): Promise<DoctorReport> {
  return runDoctor({
    paths: ctx.paths,
    secretCache: (user) => new KeychainCache({ home: ctx.paths.home, ...(user ? { user } : {}) }),
    ...(vm !== undefined ? { vm } : {}),
    ...(port !== undefined ? { port } : {}),
    journal: ctx.journal,
    log: ctx.log,
    versions: { connect: connectPackage.version },
  });
}

/** `airlock doctor [vm] [--port N] [--json]`: exit 0 when every check passed, 1 otherwise. */
export async function doctorCommand(
  ctx: CliContext,
  vm: string | undefined,
  opts: { port?: number; json?: boolean },
): Promise<number> {
  const report = await runCliDoctor(ctx, vm, opts.port);
  ctx.log.info(
    {
      ok: report.ok,
      failed: report.checks.filter((c) => c.status === 'fail').map((c) => c.code),
      sessionIds: report.sessionIds,
    },
    'doctor finished',
  );
  process.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : doctorText(report));
  return report.ok ? 0 : 1;
}
