#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { endQuietlyWhenReaderGoes, invokedDirectly, UserName } from '@airlock/shared';
import { APPROVER_POWERS, type ApproverPower } from '@airlock/shared/org';
import { addApprover } from './approver.js';
import { CliError, defaultIo, type OrgIo } from './cli-error.js';
import { nextCrl, showCrl, type RevocableKind } from './crl.js';
import { initOrg } from './init.js';
import { defaultOrgDir, OrgDir } from './org-dir.js';
import { PasswordSource } from './passwords.js';
import { showOrg, showIssued } from './show.js';
import { signRequest } from './sign.js';

const intIn = (min: number, max: number, unit: string) => (v: string) => {
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!(n >= min && n <= max)) throw new InvalidArgumentError(`expected ${unit} between ${min} and ${max}`);
  return n;
};

function powers(v: string): ApproverPower[] {
  const list = v.split(',').map((s) => s.trim());
  const bad = list.filter((p) => !(APPROVER_POWERS as readonly string[]).includes(p));
  if (bad.length || list.length === 0)
    throw new InvalidArgumentError(`expected a list of: ${APPROVER_POWERS.join(', ')}`);
  return [...new Set(list)] as ApproverPower[];
}

const keyOption = () =>
  new Option('--key <file>', 'the signing key (default: the primary root; an approver key signs with its certificate)');
const passwordOption = () =>
  new Option(
    '--password-file <file>',
    "read the signing key's password from this file (first line) instead of the terminal",
  );

export function buildProgram(io: OrgIo = defaultIo()): Command {
  const program = new Command('airlock-org')
    .description("the organisation root: keys kept by the enclave's administrators, off the relay")
    .option('--dir <dir>', 'the organisation folder [env AIRLOCK_ORG_DIR] (default ~/.airlock-org)')
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) })
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  const dir = () => new OrgDir((program.opts() as { dir?: string }).dir ?? defaultOrgDir(io.env));

  program
    .command('init')
    .description('make the primary and backup roots, the anchor, and revocation list 1')
    .requiredOption('--org <name>', 'the organisation, as people know it')
    .option('--password-file <file>', "the primary root's password (else asked twice)")
    .option('--backup-password-file <file>', "the backup root's password (else asked twice)")
    .option('--crl-days <n>', 'life of revocation lists', intIn(1, 30, 'days'), 14)
    .action(async (o: { org: string; passwordFile?: string; backupPasswordFile?: string; crlDays: number }) =>
      initOrg(
        dir(),
        {
          org: o.org,
          primary: new PasswordSource(o.passwordFile),
          backup: new PasswordSource(o.backupPasswordFile),
          crlDays: o.crlDays,
        },
        io,
      ),
    );

  program
    .command('show')
    .description('the organisation: fingerprint, roots, approvers, revocation list')
    .action(async () => showOrg(dir(), io));

  program
    .command('issued')
    .description('credentials this folder issued (to revoke one: airlock-org crl revoke cred <id>)')
    .option('--sub <name>', 'only for this user or VM')
    .action(async (o: { sub?: string }) => showIssued(dir(), o.sub, io));

  program
    .command('approver')
    .description('approvers: admin keys a root certified')
    .command('add')
    .description("certify a new approver's key (signed by a root)")
    .argument('<name>', 'the admin', (v) => {
      const name = UserName.safeParse(v);
      if (!name.success) throw new InvalidArgumentError(name.error.issues[0]?.message ?? 'not a name');
      return name.data;
    })
    .option('--can <powers>', `what it may sign: ${APPROVER_POWERS.join(',')}`, powers, [...APPROVER_POWERS])
    .option('--days <n>', 'life of the approver certificate', intIn(1, 732, 'days'), 730)
    .addOption(keyOption())
    .addOption(passwordOption())
    .option('--new-password-file <file>', "the new approver key's password (else asked twice)")
    .action(
      async (
        name: string,
        o: { can: ApproverPower[]; days: number; key?: string; passwordFile?: string; newPasswordFile?: string },
      ) =>
        addApprover(
          dir(),
          {
            name,
            can: o.can,
            days: o.days,
            key: o.key,
            rootPassword: new PasswordSource(o.passwordFile),
            newPassword: new PasswordSource(o.newPasswordFile),
          },
          io,
        ),
    );

  program
    .command('sign')
    .description(
      'approve a request the relay exported (user enrollment or VM): prints the one-time code, writes the answer for the relay',
    )
    .argument('<request>', 'the request file from `airlock-relay` (user add, vm add, org request …)')
    .option('--out <file>', 'where to write the answer (default beside the request)')
    .option('--code-out <file>', 'write the code to this file (0600) instead of printing it')
    .option('--hours <n>', 'how long the code may be used', intIn(1, 168, 'hours'), 72)
    .addOption(keyOption())
    .addOption(passwordOption())
    .action(
      async (
        request: string,
        o: { out?: string; codeOut?: string; hours: number; key?: string; passwordFile?: string },
      ) =>
        signRequest(
          dir(),
          {
            request,
            out: o.out,
            codeOut: o.codeOut,
            hours: o.hours,
            key: o.key,
            password: new PasswordSource(o.passwordFile),
          },
          io,
        ),
    );

  const crl = program.command('crl').description('the revocation list (sign the next one, show it)');
  const crlOptions = (c: Command) =>
    c
      .option('--days <n>', 'life of the new list', intIn(1, 30, 'days'), 14)
      .addOption(keyOption())
      .addOption(passwordOption());
  for (const op of ['revoke', 'unrevoke'] as const)
    crlOptions(
      crl
        .command(op)
        .description(`${op} keys (SHA256:…), credentials, users or VMs; signs the next list`)
        .argument('<kind>', 'key | cred | user | vm', (v) => {
          if (!['key', 'cred', 'user', 'vm'].includes(v))
            throw new InvalidArgumentError('expected key, cred, user or vm');
          return v as RevocableKind;
        })
        .argument('<values...>'),
    ).action(async (kind: RevocableKind, values: string[], o: { days: number; key?: string; passwordFile?: string }) =>
      nextCrl(
        dir(),
        { change: { op, kind, values }, days: o.days, key: o.key, password: new PasswordSource(o.passwordFile) },
        io,
      ),
    );
  crlOptions(
    crl.command('renew').description('re-sign the list unchanged with a new expiry (at least every 14 days)'),
  ).action(async (o: { days: number; key?: string; passwordFile?: string }) =>
    nextCrl(dir(), { days: o.days, key: o.key, password: new PasswordSource(o.passwordFile) }, io),
  );
  crl
    .command('show')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => showCrl(dir(), o.json ?? false, io));
  return program;
}

/** Runs the CLI; returns the exit code: 0 done, 1 refused or failed (one line + hint), 2 usage. */
export async function main(argv: string[], given?: OrgIo): Promise<number> {
  if (!given) endQuietlyWhenReaderGoes();
  const io = given ?? defaultIo();
  try {
    await buildProgram(io).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof CliError) {
      io.err(`error: ${e.message}`);
      if (e.hint) io.err(`hint: ${e.hint}`);
      return 1;
    }
    io.err(`error: ${(e as Error).message ?? String(e)}`);
    return 1;
  }
}

if (invokedDirectly(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
