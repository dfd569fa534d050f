import type { CliContext } from '../context.js';
import { EXIT } from '../errors.js';

export async function vmsCommand(ctx: CliContext, opts: { json?: boolean }): Promise<number> {
  const list = await ctx.relayCall((relay) => relay.listVms());
  const { vms } = list;
  if (opts.json) {
    process.stdout.write(JSON.stringify(list) + '\n');
    return EXIT.ok;
  }
  if (vms.length === 0) {
    process.stdout.write('no VMs granted to you yet; ask an admin\n');
    return EXIT.ok;
  }
  const rows = [
    ['VM', 'STATUS', 'PORTS'],
    ...vms.map((v) => [v.id, v.online ? 'online' : 'offline', v.ports.join(',') || '-']),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows)
    process.stdout.write(
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd() + '\n',
    );
  return EXIT.ok;
}
