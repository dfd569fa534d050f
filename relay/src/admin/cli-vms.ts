import type { Command } from 'commander';
import { UserName, VmId, type IssuedAgentToken } from '@airlock/shared';
import { json, parseExpiry, parsePorts, table, unwrap, withAdmin, zodArg, type CliIo } from './cli-context.js';
import { exportRequest, orgCodes } from '../org/cli-org.js';

const RELAY_ONLY = 'print a relay-only (a1) token although this relay has an organisation root (migration)';
const REQUEST_OUT = 'with an organisation root: where to write the request for airlock-org';

const vmArg = zodArg(VmId);
const userArg = zodArg(UserName);

function printToken(io: CliIo, vm: string, t: IssuedAgentToken): void {
  io.out(`run this on VM "${vm}" (single use, expires ${t.expiresAt}):`);
  io.out(`  ${t.command}`);
}

/** `vm add|list|set-ports|new-token|credentials|revoke-credential` and `grant add|list|remove`. */
export function registerVmCommands(program: Command, io: CliIo): void {
  const vm = program.command('vm').description('manage VMs and their agents');

  vm.command('add')
    .description("register a VM and print its agent's one-time enrollment token")
    .argument('<id>', 'VM id (lowercase letters, digits, dashes)', vmArg)
    .option(
      '--ports <ports>',
      'ports users may forward, e.g. 22,8888 (default: none — shell and file transfer only)',
      parsePorts,
      [] as number[],
    )
    .option('--json', 'print JSON')
    .option('--relay-only', RELAY_ONLY)
    .option('--request-out <file>', REQUEST_OUT)
    .action(
      async (
        id: string,
        opts: { ports: number[]; json?: boolean; relayOnly?: boolean; requestOut?: string },
        cmd: Command,
      ) => {
        const r = await withAdmin(cmd, io, { create: true, needsPin: true }, async (s) => {
          if (!(await orgCodes(s, opts.relayOnly))) return s.service.createVm(io.actor, id, opts.ports);
          const added = unwrap(await s.service.createVmWithoutToken(io.actor, id, opts.ports));
          await exportRequest(s, io, 'vm', id, {
            out: opts.requestOut,
            json: opts.json,
            created: `VM "${id}" added (ports ${added.vm.ports.join(',')})`,
          });
          return undefined;
        });
        if (!r) return;
        const v = unwrap(r);
        if (opts.json) return json(io, v);
        io.out(`VM "${id}" added (ports ${v.vm.ports.join(',')})`);
        printToken(io, id, v.agentEnrollment);
      },
    );

  vm.command('list')
    .description('list VMs')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const vms = await withAdmin(cmd, io, { create: false }, (s) => s.service.listVms());
      if (opts.json) return json(io, vms);
      if (vms.length === 0) return io.out('no VMs yet; add one with: airlock-relay vm add <id> --ports 22');
      table(
        io,
        ['ID', 'PORTS', 'CREDENTIALS', 'CREATED'],
        vms.map((v) => [v.id, v.ports.join(',') || '-', String(v.activeCredentials), v.createdAt]),
      );
    });

  vm.command('set-ports')
    .description('change the ports a VM allows (grants then open only ports still allowed)')
    .argument('<id>', 'VM id', vmArg)
    .requiredOption('--ports <ports>', 'e.g. 22,8888', parsePorts)
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { ports: number[]; json?: boolean }, cmd: Command) => {
      const v = unwrap(
        await withAdmin(cmd, io, { create: false }, (s) => s.service.setVmPorts(io.actor, id, opts.ports)),
      );
      if (opts.json) return json(io, v);
      io.out(`VM "${id}" now allows ports ${v.vm.ports.join(',')}`);
    });

  vm.command('new-token')
    .description('a new one-time agent enrollment token (reinstalled VM, lost credential)')
    .argument('<id>', 'VM id', vmArg)
    .option('--json', 'print JSON')
    .option('--relay-only', RELAY_ONLY)
    .option('--request-out <file>', REQUEST_OUT)
    .action(async (id: string, opts: { json?: boolean; relayOnly?: boolean; requestOut?: string }, cmd: Command) => {
      const r = await withAdmin(cmd, io, { create: false, needsPin: true }, async (s) => {
        if (!(await orgCodes(s, opts.relayOnly))) return s.service.newAgentToken(io.actor, id);
        await exportRequest(s, io, 'vm', id, { out: opts.requestOut, json: opts.json });
        return undefined;
      });
      if (!r) return;
      const v = unwrap(r);
      if (opts.json) return json(io, v);
      printToken(io, id, v.agentEnrollment);
    });

  vm.command('credentials')
    .description("list a VM's agent credentials")
    .argument('<id>', 'VM id', vmArg)
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const creds = unwrap(await withAdmin(cmd, io, { create: false }, (s) => s.service.listAgentCredentials(id)));
      if (opts.json) return json(io, creds);
      if (creds.length === 0) return io.out(`VM "${id}" has no agent credentials yet (its agent has not enrolled)`);
      table(
        io,
        ['ID', 'CREATED', 'REVOKED'],
        creds.map((c) => [c.id, c.createdAt, c.revokedAt ?? '-']),
      );
    });

  vm.command('revoke-credential')
    .description(
      "revoke an agent credential (see `vm credentials`); the agent's next connection is refused, and the VM's unused enrollment tokens are voided",
    )
    .argument('<credential-id>', 'credential id')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const v = unwrap(
        await withAdmin(cmd, io, { create: false }, (s) => s.service.revokeAgentCredential(io.actor, id)),
      );
      if (opts.json) return json(io, v);
      io.out(
        v.changed ? `agent credential ${id} of "${v.credential.vm}" revoked` : `credential ${id} was already revoked`,
      );
      if (v.tokensVoided > 0)
        io.out(
          `${v.tokensVoided} unused enrollment token(s) of "${v.credential.vm}" voided; a re-install needs a new one (airlock-relay vm new-token ${v.credential.vm})`,
        );
    });

  const grant = program.command('grant').description('who may reach which VM');
  grant
    .command('add')
    .description('let a user reach a VM (every port the VM allows unless --ports is given); replaces an existing grant')
    .argument('<user>', 'user name', userArg)
    .argument('<vm>', 'VM id', vmArg)
    .option('--ports <ports>', 'only these ports, e.g. 22,8888', parsePorts)
    .option('--expires <when>', 'end of the grant: ISO-8601 time or a duration such as 8h, 7d', (v) => parseExpiry(v))
    .option('--json', 'print JSON')
    .action(
      async (
        userName: string,
        vmId: string,
        opts: { ports?: number[]; expires?: string; json?: boolean },
        cmd: Command,
      ) => {
        const v = unwrap(
          await withAdmin(cmd, io, { create: false }, (s) =>
            s.service.putGrant(io.actor, {
              user: userName,
              vm: vmId,
              ...(opts.ports ? { ports: opts.ports } : {}),
              ...(opts.expires ? { expiresAt: opts.expires } : {}),
            }),
          ),
        );
        if (opts.json) return json(io, v);
        const ports = v.grant.ports ? v.grant.ports.join(',') : 'all the VM allows';
        io.out(
          `"${userName}" may reach "${vmId}" (ports: ${ports}${v.grant.expiresAt ? `; until ${v.grant.expiresAt}` : ''})`,
        );
      },
    );
  grant
    .command('list')
    .description('list grants')
    .option('--user <name>', 'only this user’s', userArg)
    .option('--vm <id>', 'only on this VM', vmArg)
    .option('--json', 'print JSON')
    .action(async (opts: { user?: string; vm?: string; json?: boolean }, cmd: Command) => {
      const grants = await withAdmin(cmd, io, { create: false }, (s) =>
        s.service.listGrants({ ...(opts.user ? { user: opts.user } : {}), ...(opts.vm ? { vm: opts.vm } : {}) }),
      );
      if (opts.json) return json(io, grants);
      if (grants.length === 0) return io.out('no grants; add one with: airlock-relay grant add <user> <vm>');
      table(
        io,
        ['USER', 'VM', 'PORTS', 'EXPIRES', 'ACTIVE'],
        grants.map((g) => [
          g.user,
          g.vm,
          g.ports?.join(',') ?? 'all',
          g.expiresAt ?? 'never',
          g.active ? 'yes' : 'expired',
        ]),
      );
    });
  grant
    .command('remove')
    .description("remove a user's grant on a VM")
    .argument('<user>', 'user name', userArg)
    .argument('<vm>', 'VM id', vmArg)
    .action(async (userName: string, vmId: string, _opts: unknown, cmd: Command) => {
      const v = unwrap(
        await withAdmin(cmd, io, { create: false }, (s) => s.service.deleteGrant(io.actor, userName, vmId)),
      );
      io.out(
        `"${userName}" may no longer reach "${vmId}"; ${v.liveSessions} live session(s) to be closed by the relay`,
      );
    });
}
