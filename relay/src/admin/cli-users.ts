import type { Command } from 'commander';
import { UserName, type IssuedCode } from '@airlock/shared';
import type { AdminResult } from './admin-core.js';
import type { AdminService } from './admin-service.js';
import { json, table, unwrap, withAdmin, zodArg, type CliIo } from './cli-context.js';
import { exportRequest, orgCodes } from '../org/cli-org.js';

const RELAY_ONLY = 'print a relay-only (u1) code although this relay has an organisation root (migration)';
const REQUEST_OUT = 'with an organisation root: where to write the request for airlock-org';

const userArg = zodArg(UserName);

function printCode(io: CliIo, who: string, e: IssuedCode): void {
  io.out(`send this to ${who} over a trusted channel (single use, expires ${e.expiresAt}):`);
  io.out(`  ${e.command}`);
}

/** `user add|list|disable|enable|revoke|unlock|enroll-code` and `device list|revoke`. */
export function registerUserCommands(program: Command, io: CliIo): void {
  const user = program.command('user').description('manage users');

  user
    .command('add')
    .description('create a user and print their one-time enrollment code')
    .argument('<name>', 'user name (lowercase letters, digits, . _ -)', userArg)
    .option('--json', 'print JSON')
    .option('--relay-only', RELAY_ONLY)
    .option('--request-out <file>', REQUEST_OUT)
    .action(async (name: string, opts: { json?: boolean; relayOnly?: boolean; requestOut?: string }, cmd: Command) => {
      const r = await withAdmin(cmd, io, { create: true, needsPin: true }, async (s) => {
        if (!(await orgCodes(s, opts.relayOnly))) return s.service.createUser(io.actor, name);
        unwrap(await s.service.createUserWithoutCode(io.actor, name));
        await exportRequest(s, io, 'user', name, {
          out: opts.requestOut,
          json: opts.json,
          created: `user "${name}" created`,
        });
        return undefined;
      });
      if (!r) return;
      const v = unwrap(r);
      if (opts.json) return json(io, v);
      io.out(`user "${name}" created`);
      printCode(io, name, v.enrollment);
    });

  user
    .command('list')
    .description('list users')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const users = await withAdmin(cmd, io, { create: false }, (s) => s.service.listUsers());
      if (opts.json) return json(io, users);
      if (users.length === 0) return io.out('no users yet; add one with: airlock-relay user add <name>');
      table(
        io,
        ['NAME', 'STATUS', 'DEVICES', 'TOTP', 'CREATED', 'LOCKED UNTIL'],
        users.map((u) => [
          u.name,
          u.status,
          String(u.devices),
          u.totpConfirmed ? 'yes' : 'no',
          u.createdAt,
          u.lockedUntil ?? '-',
        ]),
      );
    });

  const change = <T>(
    verb: 'disable' | 'enable' | 'revoke',
    description: string,
    run: (service: AdminService, name: string) => Promise<AdminResult<T>>,
    summary: (v: T) => string,
  ) =>
    user
      .command(verb)
      .description(description)
      .argument('<name>', 'user name', userArg)
      .option('--json', 'print JSON')
      .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
        const v = unwrap(await withAdmin(cmd, io, { create: false }, ({ service }) => run(service, name)));
        if (opts.json) return json(io, v);
        io.out(`user "${name}" ${verb}d${summary(v)}`);
      });
  change(
    'disable',
    'stop a user from logging in (their live sessions are closed)',
    (service, name) => service.disableUser(io.actor, name),
    (v) => `; ${v.liveSessions} live session(s) to be closed by the relay`,
  );
  change(
    'enable',
    'let a disabled user log in again',
    (service, name) => service.enableUser(io.actor, name),
    () => '',
  );
  change(
    'revoke',
    'disable a user, revoke all their devices and unused codes, close their sessions',
    (service, name) => service.revokeUser(io.actor, name),
    (v) =>
      `: ${v.devicesRevoked} device(s) revoked, ${v.codesVoided} code(s) voided, ` +
      `${v.liveSessions} live session(s) to be closed by the relay`,
  );

  user
    .command('unlock')
    .description('lift a lockout after too many failed logins (the running relay honours it at once)')
    .argument('<name>', 'user name', userArg)
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
      const v = unwrap(await withAdmin(cmd, io, { create: false }, (s) => s.service.unlockUser(io.actor, name)));
      if (opts.json) return json(io, v);
      io.out(
        v.wasLocked
          ? `user "${name}" unlocked; they can log in again now`
          : `user "${name}" was not locked out; ${v.failuresCleared} recent failed login(s) forgotten`,
      );
    });

  user
    .command('enroll-code')
    .description('a new one-time enrollment code (another device, or enrolling again)')
    .argument('<name>', 'user name', userArg)
    .option('--json', 'print JSON')
    .option('--relay-only', RELAY_ONLY)
    .option('--request-out <file>', REQUEST_OUT)
    .action(async (name: string, opts: { json?: boolean; relayOnly?: boolean; requestOut?: string }, cmd: Command) => {
      const r = await withAdmin(cmd, io, { create: false, needsPin: true }, async (s) => {
        if (!(await orgCodes(s, opts.relayOnly))) return s.service.newEnrollmentCode(io.actor, name);
        await exportRequest(s, io, 'user', name, { out: opts.requestOut, json: opts.json });
        return undefined;
      });
      if (!r) return;
      const v = unwrap(r);
      if (opts.json) return json(io, v);
      printCode(io, name, v.enrollment);
    });

  const device = program.command('device').description("manage users' devices (enrolled keys)");
  device
    .command('list')
    .description('list devices')
    .option('--user <name>', 'only this user’s', userArg)
    .option('--json', 'print JSON')
    .action(async (opts: { user?: string; json?: boolean }, cmd: Command) => {
      const devices = await withAdmin(cmd, io, { create: false }, (s) => s.service.listDevices(opts.user));
      if (opts.json) return json(io, devices);
      if (devices.length === 0) return io.out('no devices enrolled');
      table(
        io,
        ['ID', 'USER', 'NAME', 'FINGERPRINT', 'LAST LOGIN', 'REVOKED'],
        devices.map((d) => [d.id, d.user, d.name, d.fingerprint, d.lastLoginAt ?? '-', d.revokedAt ?? '-']),
      );
    });
  device
    .command('revoke')
    .description('revoke a device: it can no longer log in, and its live sessions are closed')
    .argument('<id>', 'device id (see `device list`)')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const v = unwrap(await withAdmin(cmd, io, { create: false }, (s) => s.service.revokeDevice(io.actor, id)));
      if (opts.json) return json(io, v);
      io.out(
        v.changed
          ? `device ${id} of "${v.device.user}" revoked; ${v.liveSessions} live session(s) to be closed by the relay`
          : `device ${id} was already revoked`,
      );
    });
}
