import type { AgentStatusReport } from './status-report.js';

/** The report for a person at the VM's console: one line per check, the next step under a failed one. */
export function printStatus(r: AgentStatusReport, out: (line: string) => void): void {
  out(`airlock-agent status: ${r.ok ? 'all good' : 'PROBLEMS FOUND'}   [${r.at}]`);
  for (const c of r.checks) {
    out(`  ${c.ok ? '✓' : '✗'} ${c.check.padEnd(10)} ${c.message}`);
    if (c.hint) out(`    ${' '.repeat(10)} → ${c.hint}`);
  }
}
