import { readSecretLine } from '@airlock/shared';
import {
  EnrollmentTransaction,
  type EnrollBegun,
  type EnrollDone,
} from '../../core/enrollment/enrollment-transaction.js';
import { defaultDeviceName } from '../../core/enrollment/enroll.js';
import { MIN_PASSWORD_LENGTH } from '../../core/identity/password-rules.js';
import { promptFailure, type Prompter } from '../../core/identity/prompter.js';
import { askTotpCode, keychainFor, promptError } from '../authenticate.js';
import type { CliContext } from '../context.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { confirmNewPassword } from '../prompters.js';
import { renderTotpSetup } from '../totp-display.js';

export interface EnrollOptions {
  codeFile?: string;
  deviceName?: string;
  remember?: boolean;
  force?: boolean;
  json?: boolean;
}

/** Local tries at the confirmation code; the relay voids the enrollment after its own limit first. */
const MAX_CODE_TRIES = 10;

/**
 * `airlock enroll <relay-url> <code>`: a new device key (ECDSA P-256) encrypted under a password
 * chosen twice, registered with the relay the code names (pinned by the code), and an
 * authenticator (TOTP) set up or confirmed. Nothing is sent before the password is chosen, since
 * the relay uses up the code on the first request.
 */
export async function enrollCommand(
  ctx: CliContext,
  relayUrl: string,
  codeArg: string | undefined,
  opts: EnrollOptions,
) {
  const code = await enrollmentCodeFrom(ctx.prompter, codeArg, opts.codeFile);
  const prepared = await EnrollmentTransaction.prepare(
    { store: ctx.store, keys: ctx.keys },
    { relayUrl, code, deviceName: opts.deviceName ?? defaultDeviceName(), replace: opts.force },
  );
  if (!prepared.ok) {
    const e = prepared.error;
    if (e.code === 'bad_device_name') throw new UsageError(e.message);
    if (e.code === 'already_enrolled')
      throw new CliError(
        e.message,
        'use --force to replace it (export a backup first with `airlock backup export <file>`)',
      );
    throw CliError.from(e);
  }
  const tx = prepared.value;
  try {
    return await enrollWith(ctx, tx, opts);
  } catch (e) {
    await tx.abort();
    // The relay consumed the code at `begin`: say so, or the user retries a dead code.
    if (tx.codeUsed)
      ctx.prompter.info('this enrollment code has now been used; to try again, ask your admin for a new one');
    throw e;
  } finally {
    await tx.close();
  }
}

async function enrollWith(ctx: CliContext, tx: EnrollmentTransaction, opts: EnrollOptions): Promise<number> {
  const { target, deviceName } = tx;
  const prompter = ctx.prompter;
  prompter.info(`Enrolling this device ("${deviceName}") with ${target.relayUrl}.`);
  prompter.info(
    `Choose a password for your Airlock key (at least ${MIN_PASSWORD_LENGTH} characters); it never leaves this computer.`,
  );
  const password = await confirmNewPassword(prompter);
  if (!password.ok)
    throw password.error.code === 'password_rejected'
      ? new CliError(password.error.message)
      : promptError(password.error);

  const begun = await tx.begin(password.value, {
    remember: opts.remember,
    secretCacheFor: (user) => keychainFor(ctx.paths.home, user),
  });
  if (!begun.ok) {
    const e = begun.error;
    if (e.code === 'bad_totp_uri') throw new CliError(`the relay sent a bad authenticator setup: ${e.message}`);
    if (e.code === 'password_rejected' || e.code === 'enrollment_state') throw new CliError(e.message);
    throw CliError.from(e);
  }
  const { user } = begun.value;
  if (begun.value.rememberError)
    prompter.info(`could not remember the password on this device: ${begun.value.rememberError}`);
  const done = await confirmTotp(prompter, begun.value, (totp) => tx.confirm(totp));
  const { fingerprint, deviceId, remembered, relayUrl } = done;
  if (opts.json)
    process.stdout.write(
      JSON.stringify({ ok: true, relayUrl, user, deviceId, deviceName, fingerprint, remembered }) + '\n',
    );
  else
    process.stdout.write(
      `enrolled this device ("${deviceName}", key ${fingerprint}) as ${user} on ${relayUrl}\n` +
        'next: `airlock login`\n',
    );
  return EXIT.ok;
}

/**
 * The one-time code: from argv, `-` (stdin), `--code-file`, or asked on the terminal without
 * echo. Only argv exposes it to other local users (`ps`), so the others are what the README shows.
 */
async function enrollmentCodeFrom(prompter: Prompter, arg: string | undefined, file: string | undefined) {
  if (arg !== undefined && file !== undefined)
    throw new UsageError('give the code either as an argument or with --code-file, not both');
  if (arg !== undefined && arg !== '-') return arg;
  if (arg === '-' || file !== undefined || !process.stdin.isTTY) {
    const read = await readSecretLine(file !== undefined ? { file } : { stream: process.stdin }, 'enrollment code');
    if (!read.ok) throw new CliError(read.error.message, 'pass the code your admin gave you (it starts with u1.)');
    return read.value;
  }
  try {
    return (await prompter.password('One-time enrollment code from your admin (u1.…): ')).replace(/\s+/g, '');
  } catch (e) {
    throw promptError(promptFailure(e));
  }
}

/** Shows the new authenticator secret (or asks for the existing one's code) and confirms a code. */
async function confirmTotp(
  prompter: Prompter,
  begun: EnrollBegun,
  confirm: (totp: string) => ReturnType<EnrollmentTransaction['confirm']>,
): Promise<EnrollDone> {
  let prompt: string;
  if (begun.totp) {
    const setup = await renderTotpSetup(begun.totp.uri);
    if (!setup.ok) throw new CliError(`the relay sent a bad authenticator setup: ${setup.error.message}`);
    prompter.info(setup.value.text);
    prompt = 'Code from your authenticator app, to confirm: ';
  } else {
    prompter.info(`${begun.user} already has an authenticator app set up; use its current code.`);
    prompt = 'Authenticator code: ';
  }
  for (let i = 1; ; i++) {
    const totp = await askTotpCode(prompter, prompt);
    const done = await confirm(totp);
    if (done.ok) return done.value;
    const e = done.error;
    if (!e.retryable || i >= MAX_CODE_TRIES) {
      if (e.code === 'enrollment_state') throw new CliError(e.message);
      throw CliError.from(e);
    }
    prompter.info(`${e.message}; try again`);
  }
}
