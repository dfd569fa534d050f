import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { UserName, VmId, writeFileAtomic } from '@airlock/shared';
import type * as z from 'zod';
import { OrgAnswer } from '@airlock/shared/org';
import { CliError } from '../admin/cli-error.js';
import { json, unwrap, withAdmin, type AdminSession, type CliIo } from '../admin/cli-context.js';
import { storedAnchor } from './org-admin.js';

async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, `pass the ${what}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(`${path} is not JSON`, `pass the ${what}`);
  }
}

const firstIssue = (e: z.ZodError) => {
  const i = e.issues[0];
  return i ? `${i.path.join('.') || 'the file'}: ${i.message}` : 'not the expected shape';
};

/** Reads an answer file, saying which file is not one (the admin may hand over several). */
async function readAnswer(path: string): Promise<unknown> {
  const content = await readJsonFile(path, 'answer file from airlock-org sign');
  const parsed = OrgAnswer.safeParse(content);
  if (!parsed.success)
    throw new CliError(
      `${path} is not an answer from airlock-org sign (${firstIssue(parsed.error)})`,
      'pass the <name>.<user|vm>.answer.json that `airlock-org sign` wrote beside the request',
    );
  return content;
}

/** The commands that need the organisation's anchor say so first, with the step that sets it. */
async function requireAnchor(s: AdminSession): Promise<void> {
  if (!(await storedAnchor(s.store)))
    throw new CliError(
      'this relay has no organisation root',
      'set one first: airlock-relay org set-anchor anchor.json (made by airlock-org init on an admin workstation)',
    );
}

/** Whether codes here are made with the organisation root (an anchor is set and --relay-only was not given). */
export async function orgCodes(s: AdminSession, relayOnly: boolean | undefined): Promise<boolean> {
  return !relayOnly && (await storedAnchor(s.store)) !== undefined;
}

/**
 * Exports the request an administrator signs on the admin workstation, and says the two steps
 * that follow (as JSON with `json`). The code is made there, never here: the relay must not know
 * it. `created`: the user or VM this command has just created, so a request file that cannot be
 * written still says so, and how to write the request again.
 */
export async function exportRequest(
  s: AdminSession,
  io: CliIo,
  kind: 'user' | 'vm',
  sub: string,
  opts: { out?: string | undefined; json?: boolean | undefined; created?: string | undefined } = {},
): Promise<{ path: string }> {
  await requireAnchor(s);
  const request = unwrap(await s.org.request(io.actor, kind, sub));
  const path = resolve(opts.out ?? `${sub}.${kind}.request.json`);
  try {
    await writeFileAtomic(path, `${JSON.stringify(request, null, 2)}\n`, 0o644);
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new CliError(
      `${opts.created ? `${opts.created}, but ` : ''}the request could not be written to ${path} (${reason})`,
      `write it to a folder you can write to: airlock-relay org request ${kind} ${sub} --out <file>`,
    );
  }
  const answer = `${path.replace(/\.request\.json$/, '')}.answer.json`;
  const steps = [`airlock-org sign ${path}`, `airlock-relay org accept ${answer}`];
  if (opts.json) {
    json(io, {
      [kind]: sub,
      ...(opts.created ? { created: true } : {}),
      organisationRoot: true,
      request: path,
      next: { onAdminWorkstation: steps[0], here: steps[1] },
    });
    return { path };
  }
  if (opts.created) io.out(opts.created);
  io.out(
    `this relay has an organisation root: the ${kind === 'user' ? 'enrollment code' : 'agent token'} is made on an admin workstation`,
  );
  io.out(`  1. there:  ${steps[0]}     (prints the code to hand over)`);
  io.out(`  2. here:   ${steps[1]}`);
  return { path };
}

/** `org status|set-anchor|request|accept|set-crl`. */
export function registerOrgCommands(program: Command, io: CliIo): void {
  const org = program
    .command('org')
    .description('the organisation root: what this relay serves of it (it holds no signing key)');

  org
    .command('status')
    .description('the organisation this relay serves, and its revocation list')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const status = await withAdmin(cmd, io, { create: false }, (s) => s.org.status());
      if (opts.json) return json(io, status);
      if (!status.anchor) {
        io.out('no organisation root: the relay can impersonate users to VMs and VMs to users');
        io.out('  set one: airlock-org init (on an admin workstation), then airlock-relay org set-anchor anchor.json');
        return;
      }
      io.out(`organisation  ${status.anchor.org}  (${status.anchor.afp}), set ${status.anchor.setAt}`);
      io.out(`roots         ${status.anchor.roots.join(', ')}`);
      io.out(
        status.crl
          ? `revocation    list ${status.crl.seq}, valid until ${status.crl.expiresAt}`
          : 'revocation    none: sessions to certified VMs are refused until one is set (airlock-relay org set-crl crl.json)',
      );
    });

  org
    .command('set-anchor')
    .description("serve this organisation's anchor (anchor.json from airlock-org init)")
    .argument('<file>', 'the anchor file')
    .option('--replace', 'replace a different anchor (every party that pinned the old one must re-enroll)')
    .action(async (file: string, opts: { replace?: boolean }, cmd: Command) => {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (e) {
        throw new CliError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      }
      const v = unwrap(
        await withAdmin(cmd, io, { create: true }, (s) => s.org.setAnchor(io.actor, text, opts.replace)),
      );
      io.out(
        v.changed
          ? `this relay now serves organisation "${v.org}" (${v.afp})`
          : `already serving "${v.org}" (${v.afp})`,
      );
    });

  org
    .command('request')
    .description('export a request for a user enrollment code or an agent token, to sign with airlock-org')
    .argument('<kind>', 'user | vm', (v) => {
      if (v !== 'user' && v !== 'vm') throw new InvalidArgumentError('expected user or vm');
      return v;
    })
    .argument('<name>', 'the user name or VM id')
    .option('--out <file>', 'where to write the request (default <name>.<kind>.request.json here)')
    .action(async (kind: 'user' | 'vm', name: string, opts: { out?: string }, cmd: Command) => {
      const named = (kind === 'user' ? UserName : VmId).safeParse(name);
      if (!named.success)
        cmd.error(
          `error: "${name}" is not a ${kind === 'user' ? 'user name' : 'VM id'}: ${named.error.issues[0]?.message ?? 'invalid'}`,
          {
            exitCode: 2,
            code: 'airlock.usage',
          },
        );
      await withAdmin(cmd, io, { create: false, needsPin: true }, (s) =>
        exportRequest(s, io, kind, name, { out: opts.out }),
      );
    });

  org
    .command('accept')
    .description('store the code(s) an administrator signed (the answer files from airlock-org sign)')
    .argument('<answers...>', 'answer files')
    .action(async (files: string[], _opts: unknown, cmd: Command) => {
      const answers = await Promise.all(files.map(readAnswer));
      await withAdmin(cmd, io, { create: false }, async (s) => {
        await requireAnchor(s);
        for (const answer of answers) {
          const v = unwrap(await s.org.accept(io.actor, answer));
          io.out(
            `${v.kind === 'user' ? 'enrollment code for user' : 'agent token for VM'} ${v.sub} accepted (credential ${v.credential}, until ${v.expiresAt})`,
          );
        }
      });
    });

  org
    .command('set-crl')
    .description('serve a new revocation list (crl.json from airlock-org crl …); agents get it at once')
    .argument('<file>', 'the revocation list')
    .action(async (file: string, _opts: unknown, cmd: Command) => {
      const content = await readJsonFile(file, 'crl.json from airlock-org');
      const chain = content && typeof content === 'object' && 'chain' in content ? content.chain : content;
      const v = unwrap(
        await withAdmin(cmd, io, { create: false }, async (s) => {
          await requireAnchor(s);
          return s.org.setCrl(io.actor, chain);
        }),
      );
      io.out(`revocation list ${v.seq} set, valid until ${v.expiresAt}; connected agents receive it within seconds`);
    });
}
