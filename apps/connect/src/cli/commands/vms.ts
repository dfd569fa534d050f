import { ok } from '@airlock/shared';
import { certifyVmList, type CertifiedVm, type CertifiedVmList } from '../../core/org/vm-certificates.js';
import { RelayClient } from '../../core/relay/relay-client.js';
import type { CliContext } from '../context.js';
import { CliError, EXIT } from '../errors.js';

/** One word for the CERTIFICATE column: only shown when this device pinned an organisation root. */
const CERTIFICATE_WORD = { certified: 'certified', 'not-certified': 'UNCERTIFIED', unknown: '-', 'relay-only': '-' };

export async function vmsCommand(ctx: CliContext, opts: { json?: boolean }): Promise<number> {
  const listed = await ctx.withLogin(async (c) => {
    const relay = new RelayClient({ endpoint: c.endpoint, token: c.token });
    try {
      const list = await relay.listVms();
      return list.ok ? ok(await certifyVmList(c.org, list.value, relay)) : list;
    } finally {
      await relay.close();
    }
  });
  if (!listed.ok) throw CliError.from(listed.error);
  const list = listed.value;
  if (opts.json) {
    process.stdout.write(JSON.stringify(list) + '\n');
    return EXIT.ok;
  }
  if (list.vms.length === 0) {
    process.stdout.write('no VMs granted to you yet; ask an admin\n');
    return EXIT.ok;
  }
  writeTable(list);
  for (const vm of list.vms)
    if (vm.certificate.state === 'not-certified')
      process.stderr.write(
        `airlock: ${vm.id} is not certified by your organisation (${vm.certificate.reason}): ${vm.certificate.message} — sessions to it will be refused; tell your admin\n`,
      );
  return EXIT.ok;
}

function writeTable(list: CertifiedVmList): void {
  const underRoot = list.trust === 'org-root';
  const row = (v: CertifiedVm) => [
    v.id,
    v.online ? 'online' : 'offline',
    v.ports.join(',') || '-',
    ...(underRoot ? [CERTIFICATE_WORD[v.certificate.state]] : []),
  ];
  const rows = [['VM', 'STATUS', 'PORTS', ...(underRoot ? ['CERTIFICATE'] : [])], ...list.vms.map(row)];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows)
    process.stdout.write(
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd() + '\n',
    );
}
