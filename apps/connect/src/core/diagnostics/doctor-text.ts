import type { DoctorCheck, DoctorReport } from './doctor-report.js';

const MARK = { pass: '✓', warn: '!', fail: '✗' } as const;

/** The name a person reads for each check (the JSON keeps the code). */
function label(c: DoctorCheck): string {
  const name = c.check.replace(/_/g, ' ');
  return c.port !== undefined && (c.check === 'forward' || c.check === 'port') ? `${name} ${c.port}` : name;
}

function duration(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

/**
 * `airlock doctor` as a person reads it: one line per check (✓ passed, ✗ failed, ! worth
 * knowing), what it found and how long it took; under a failed one, `→` and what to do; each
 * VM's checks under its name; where a chain stopped and why; the session ids used.
 */
export function doctorText(report: DoctorReport): string {
  const lines: string[] = [];
  const { connect } = report;
  lines.push(
    `airlock doctor — Connect ${connect.version}, Node ${connect.node}, ${connect.platform}; files in ${connect.home}`,
  );
  const width = Math.max(12, ...report.checks.map((c) => label(c).length));
  const stopsFor = (vm: string | undefined) => report.stopped.filter((s) => s.vm === vm);
  const printStops = (vm: string | undefined, indent: string) => {
    for (const s of stopsFor(vm)) lines.push(`${indent}— stopped after ${s.after.replace(/_/g, ' ')}: ${s.reason}`);
  };
  let section: string | undefined;
  for (const c of report.checks) {
    if (c.vm !== section) {
      if (section !== undefined) printStops(section, '  ');
      section = c.vm;
      if (section !== undefined) lines.push(`VM ${section}`);
    }
    const indent = c.vm !== undefined ? '  ' : '';
    lines.push(`${indent}${MARK[c.status]} ${label(c).padEnd(width)}  ${c.message}  (${duration(c.durationMs)})`);
    if (c.status !== 'pass' && c.hint) lines.push(`${indent}  ${' '.repeat(width)}  → ${c.hint}`);
  }
  if (section !== undefined) printStops(section, '  ');
  printStops(undefined, '');
  if (report.sessionIds.length) lines.push(`sessions used: ${report.sessionIds.join(', ')}`);
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  lines.push(
    failed === 0
      ? `airlock doctor: all checks passed (${duration(report.durationMs)})`
      : `airlock doctor: ${failed} problem${failed === 1 ? '' : 's'} found (${duration(report.durationMs)}); the first ✗ is the one to fix first`,
  );
  return lines.join('\n') + '\n';
}
