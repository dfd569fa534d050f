import { readFile, rm } from 'node:fs/promises';
import { DeviceName, readSecretLine, writeFileAtomic, type EnrollBeginResponse } from '@airlock/shared';
import { enrollmentOf } from '../../core/identity/config-store.js';
import {
  defaultDeviceName,
  DeviceEnrollment,
  generateDeviceKey,
  parseEnrollmentInput,
} from '../../core/enrollment/enroll.js';
import { promptFailure, type Prompter } from '../../core/identity/prompter.js';
import { confirmNewPassword } from '../prompters.js';
import { renderTotpSetup } from '../totp-display.js';
import { UserKeyVault } from '../../core/identity/user-key-vault.js';
import { askTotpCode, keychainFor, promptError } from '../authenticate.js';
import type { CliContext } from '../context.js';
import { CliError, EXIT, UsageError } from '../errors.js';

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
  const target = parseEnrollmentInput(relayUrl, code);
  if (!target.ok) throw CliError.from(target.error);
  const deviceName = opts.deviceName ?? defaultDeviceName();
  const validName = DeviceName.safeParse(deviceName);
  if (!validName.success)
    throw new UsageError(`bad device name "${deviceName}": ${validName.error.issues[0]?.message}`);

  const config = await ctx.readConfig();
  const existing = enrollmentOf(config, ctx.paths.home);
  const keyExists = await ctx.keys.exists();
  if (!opts.force && (existing.ok || keyExists))
    throw new CliError(
      existing.ok
        ? `this device is already enrolled as ${existing.value.user} on ${existing.value.relayUrl}`
        : `a user key already exists at ${ctx.paths.userKey}`,
      'use --force to replace it (export a backup first with `airlock backup export <file>`)',
    );

  const enrollment = new DeviceEnrollment(target.value);
  try {
    return await enrollWith(ctx, enrollment, deviceName, opts, keyExists);
  } finally {
    await enrollment.close();
  }
}

async function enrollWith(
  ctx: CliContext,
  enrollment: DeviceEnrollment,
  deviceName: string,
  opts: EnrollOptions,
  keyExists: boolean,
): Promise<number> {
  const { target } = enrollment;
  const reachable = await enrollment.checkRelay();
  if (!reachable.ok) throw CliError.from(reachable.error);
  const prompter = ctx.prompter;
  prompter.info(`Enrolling this device ("${deviceName}") with ${target.relayUrl}.`);
  prompter.info('Choose a password for your Airlock key (at least 8 characters); it never leaves this computer.');
  const password = await confirmNewPassword(prompter);
  if (!password.ok)
    throw password.error.code === 'password_rejected'
      ? new CliError(password.error.message)
      : promptError(password.error);

  const privateKey = generateDeviceKey();
  const begun = await enrollment.begin(privateKey, deviceName);
  if (!begun.ok) throw CliError.from(begun.error);
  const { user } = begun.value;

  // Written before the relay confirms, so a confirmed device always has its key on disk; undone on failure.
  const undo = await keepForUndo(ctx, opts.force && keyExists);
  const keychain = opts.remember ? keychainFor(ctx, user) : undefined;
  const created = await new UserKeyVault(ctx.keys, ctx.store).create(privateKey, password.value, {
    overwrite: opts.force,
    keychain,
    remember: opts.remember,
  });
  if (!created.ok) throw CliError.from(created.error);
  let deviceId: string;
  try {
    if (created.value.keychainError)
      prompter.info(`could not remember the password on this device: ${created.value.keychainError}`);
    deviceId = await confirmTotp(prompter, begun.value, (totp) =>
      enrollment.complete(begun.value.enrollmentId, privateKey, totp),
    );
  } catch (e) {
    await undo();
    if (created.value.remembered) await keychain?.delete();
    // The relay consumed the code at `begin`: say so, or the user retries a dead code.
    prompter.info('this enrollment code has now been used; to try again, ask your admin for a new one');
    throw e;
  }
  await ctx.store.clearSession();
  await ctx.store.writeConfig({ relayUrl: target.relayUrl, relayPin: target.pin, user, deviceId });
  const { fingerprint } = created.value.key;
  if (opts.json) {
    const { relayUrl } = target;
    const remembered = created.value.remembered;
    process.stdout.write(
      JSON.stringify({ ok: true, relayUrl, user, deviceId, deviceName, fingerprint, remembered }) + '\n',
    );
  } else
    process.stdout.write(
      `enrolled this device ("${deviceName}", key ${fingerprint}) as ${user} on ${target.relayUrl}\n` +
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

/** Shows the new authenticator secret (or asks for the existing one's code) and confirms a code; the device id. */
async function confirmTotp(
  prompter: Prompter,
  begun: EnrollBeginResponse,
  complete: (totp: string) => ReturnType<DeviceEnrollment['complete']>,
): Promise<string> {
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
    const done = await complete(totp);
    if (done.ok) return done.value.deviceId;
    const e = done.error;
    if (e.code !== 'enrollment_failed' || e.voided || i >= MAX_CODE_TRIES) throw CliError.from(e);
    prompter.info(`${e.message}; try again`);
  }
}

/**
 * How to put the key files back as they were: removed if this enrollment created them, or the
 * previous ones restored when `--force` replaced them.
 */
async function keepForUndo(ctx: CliContext, replacing: boolean | undefined): Promise<() => Promise<void>> {
  const { userKey, userPublicKey } = ctx.paths;
  const before = replacing
    ? await Promise.all([readFile(userKey, 'utf8'), readFile(userPublicKey, 'utf8').catch(() => undefined)])
    : undefined;
  return async () => {
    if (!before) {
      await rm(userKey, { force: true });
      await rm(userPublicKey, { force: true });
      return;
    }
    await writeFileAtomic(userKey, before[0], 0o600);
    if (before[1] !== undefined) await writeFileAtomic(userPublicKey, before[1], 0o644);
  };
}
