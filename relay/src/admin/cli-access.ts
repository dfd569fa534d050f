import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ADMIN_SCOPES, curlPin, spkiPin } from '@airlock/shared';
import {
  CliError,
  dataDirOf,
  json,
  parseScopes,
  relayCertPath,
  table,
  unwrap,
  withAdmin,
  type CliIo,
  type GlobalOptions,
} from './cli-context.js';
import { registerSessionShow } from '../helpdesk/cli-helpdesk.js';

/** `session list|show|kill`, `client add|list|revoke` and `tls show`. */
export function registerAccessCommands(program: Command, io: CliIo): void {
  const session = program.command('session').description('live sessions');
  session
    .command('list')
    .description('list live sessions (--all: recent ended ones too)')
    .option('--all', 'include ended sessions')
    .option('--json', 'print JSON')
    .action(async (opts: { all?: boolean; json?: boolean }, cmd: Command) => {
      const sessions = await withAdmin(cmd, io, { create: false }, (s) => s.service.listSessions({ live: !opts.all }));
      if (opts.json) return json(io, sessions);
      if (sessions.length === 0) return io.out(opts.all ? 'no sessions' : 'no live sessions');
      table(
        io,
        ['ID', 'USER', 'VM', 'PORTS', 'STARTED', 'STATE', 'BYTES IN/OUT'],
        sessions.map((s) => [
          s.id,
          s.user,
          s.vm,
          s.ports.join(','),
          s.openedAt ?? s.createdAt,
          s.endedAt ? `ended (${s.endReason ?? '-'})` : s.killRequestedAt ? 'closing' : s.openedAt ? 'open' : 'pending',
          `${s.bytesFromClient}/${s.bytesFromAgent}`,
        ]),
      );
    });
  session
    .command('kill')
    .description('close a live session (the relay closes it within about a second)')
    .argument('<id>', 'session id (see `session list`)')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const v = unwrap(await withAdmin(cmd, io, { create: false }, (s) => s.service.killSession(io.actor, id)));
      if (opts.json) return json(io, v);
      io.out(`session ${id} of "${v.session.user}" on "${v.session.vm}" is being closed`);
    });
  registerSessionShow(session, io);

  const client = program.command('client').description('API clients of the admin REST API (client credentials)');
  client
    .command('add')
    .description('create an API client and print its secret (shown once)')
    .argument('<name>', 'what it is for, e.g. "provisioning"')
    .requiredOption('--scopes <scopes>', `comma-separated: ${ADMIN_SCOPES.join(', ')}`, parseScopes)
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { scopes: string[]; json?: boolean }, cmd: Command) => {
      const v = unwrap(
        await withAdmin(cmd, io, { create: true }, (s) => s.service.createClient(io.actor, name, opts.scopes)),
      );
      if (opts.json) return json(io, v);
      io.out(`API client "${name}" created with scopes ${v.client.scopes.join(' ')}`);
      io.out(`client_id:     ${v.client.clientId}`);
      io.out(`client_secret: ${v.clientSecret}`);
      io.out('the secret is shown once; store it in the automation’s secret store');
    });
  client
    .command('list')
    .description('list API clients')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const clients = await withAdmin(cmd, io, { create: false }, (s) => s.service.listClients());
      if (opts.json) return json(io, clients);
      if (clients.length === 0)
        return io.out('no API clients; add one with: airlock-relay client add <name> --scopes …');
      table(
        io,
        ['CLIENT ID', 'NAME', 'SCOPES', 'CREATED', 'REVOKED'],
        clients.map((c) => [c.clientId, c.name, c.scopes.join(' '), c.createdAt, c.revokedAt ?? '-']),
      );
    });
  client
    .command('revoke')
    .description('revoke an API client; its tokens stop working at once')
    .argument('<client-id>', 'client id (ac_…)')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const v = unwrap(await withAdmin(cmd, io, { create: false }, (s) => s.service.revokeClient(io.actor, id)));
      if (opts.json) return json(io, v);
      io.out(v.changed ? `API client ${id} revoked` : `API client ${id} was already revoked`);
    });

  const tls = program.command('tls').description("the relay's TLS certificate");
  tls
    .command('show')
    .description('print the certificate pin that clients check (it is inside every enrollment code)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const given = (cmd.optsWithGlobals() as GlobalOptions).tlsCert ?? io.env.AIRLOCK_RELAY_TLS_CERT;
      const path = given ?? relayCertPath(dataDirOf(cmd));
      let pem: string;
      try {
        pem = await readFile(path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT')
          throw new CliError(
            `no relay certificate at ${path}`,
            'start the relay once (airlock-relay serve) so it mints one, or check --data-dir / --tls-cert',
          );
        throw new CliError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 'check the path');
      }
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(pem);
      } catch {
        throw new CliError(`${path} is not a PEM certificate`, 'pass the relay certificate with --tls-cert');
      }
      const pin = spkiPin(cert);
      const info = {
        pin,
        /** The same pin as `curl --pinnedpubkey` takes it, and as people are shown it. */
        curlPin: curlPin(pin),
        certPath: path,
        subject: cert.subject,
        names: cert.subjectAltName ?? '',
        validFrom: new Date(cert.validFrom).toISOString(),
        validTo: new Date(cert.validTo).toISOString(),
      };
      if (opts.json) return json(io, info);
      io.out(`pin:         ${info.curlPin}   (as curl --pinnedpubkey takes it)`);
      io.out(`certificate: ${info.certPath}`);
      io.out(`names:       ${info.names || '-'}`);
      io.out(`valid:       ${info.validFrom} – ${info.validTo}`);
    });
}
