// Whole commands as a person runs them, beside `ssh host true`; and, given an older build
// (`BENCH_AIRLOCK_BASELINE`), that build's in the same turns.
import { measureCommands } from '../commands.js';
import { ratio } from '../report-table.js';
import type { SectionContext } from './context.js';

export async function measureCommandsSection({ sys, table, rttMs }: SectionContext, baseline: string | undefined) {
  const times = await measureCommands({
    home: sys.home,
    tmp: sys.tmp,
    relayUrl: sys.relay.info.url,
    sshd: sys.sshd,
    rttMs,
    baseline,
  });
  const [near, far] = [times.loopback, times.rtt40];
  table.row('`airlock exec vm -- true` whole command (ms)', near.airlockExecTrue!, far.airlockExecTrue!);
  table.row('`ssh host true` whole command (ms)', near.sshTrue ?? 'n/a', far.sshTrue ?? 'n/a');
  table.row(
    '`airlock exec` ÷ `ssh true`',
    ratio(near.airlockExecTrue, near.sshTrue),
    ratio(far.airlockExecTrue, far.sshTrue),
  );
  table.row('`airlock --help` (ms)', near.airlockHelp!, '');
  table.row('`node -e 0`, for scale (ms)', near.nodeNothing!, '');
  if (baseline) {
    table.row("this build's bundle, run by node: `exec vm -- true` (ms)", near.bundleExecTrue!, far.bundleExecTrue!);
    table.row(`baseline ${baseline}: \`exec vm -- true\` (ms)`, near.baselineExecTrue!, far.baselineExecTrue!);
    table.row(`baseline ${baseline}: \`--help\` (ms)`, near.baselineHelp!, '');
    table.row(
      'baseline `exec` ÷ `ssh true`',
      ratio(near.baselineExecTrue, near.sshTrue),
      ratio(far.baselineExecTrue, far.sshTrue),
    );
  }
  return times;
}
