import { TotpCode } from '@airlock/shared';
import type { ConfigStore, Enrollment, SavedSession } from '../core/identity/config-store.js';
import type { UserKeyStore } from '../core/identity/user-key-store.js';
import { KeychainCache } from '../core/identity/keytar-secret-cache.js';
import { LoginAttempt, secondsToNextTotpStep } from '../core/login/login-attempt.js';
import { promptFailure, type PromptFailure, type Prompter } from '../core/identity/prompter.js';
import { UserKeyVault } from '../core/identity/user-key-vault.js';
import { CliError } from './errors.js';

/** Wrong authenticator codes accepted before giving up (each try costs the relay a failure count). */
const TOTP_TRIES = 3;

/** A prompt that could not be answered, as the CLI's one-line error. */
export function promptError(e: PromptFailure): CliError {
  switch (e.code) {
    case 'cancelled':
      return new CliError(e.message === 'cancelled' ? 'cancelled' : e.message);
    case 'askpass_failed':
      return new CliError(e.message, 'check the program AIRLOCK_ASKPASS names');
    case 'no_terminal':
      return new CliError(e.message);
  }
}

/**
 * Asks for the 6-digit authenticator code until it looks like one (spaces are dropped: apps show
 * "123 456"). Whether it is right is the relay's call.
 */
export async function askTotpCode(prompter: Prompter, prompt = 'Authenticator code: '): Promise<string> {
  for (let i = 0; ; i++) {
    let answer: string;
    try {
      answer = (await prompter.text(prompt)).replace(/\s+/g, '');
    } catch (e) {
      throw promptError(promptFailure(e));
    }
    if (TotpCode.safeParse(answer).success) return answer;
    if (i === 2) throw new CliError('no 6-digit authenticator code given');
    prompter.info('the code is the 6 digits your authenticator app shows for Airlock; try again');
  }
}

export function keychainFor(home: string, user: string | undefined): KeychainCache {
  return new KeychainCache({ home, user });
}

/** What the interactive login needs from the CLI's context. */
export interface LoginFiles {
  home: string;
  keys: UserKeyStore;
  store: ConfigStore;
}

/**
 * The interactive login: the device key unlocked (from the OS keychain when remembered, else the
 * password), an authenticator code, then challenge–sign–login over mutual TLS (core's
 * LoginAttempt). A wrong code is asked again; a code the relay already refused as used is not sent
 * again — the CLI waits for the next one.
 */
export async function loginInteractively(
  files: LoginFiles,
  enrollment: Enrollment,
  prompter: Prompter,
  options: { remember?: boolean } = {},
): Promise<SavedSession> {
  const vault = new UserKeyVault(files.keys, files.store);
  const unlocked = await vault.unlock(prompter, {
    keychain: keychainFor(files.home, enrollment.user),
    remember: options.remember,
  });
  if (!unlocked.ok) {
    const e = unlocked.error;
    if (e.code === 'cancelled' || e.code === 'no_terminal' || e.code === 'askpass_failed') throw promptError(e);
    throw CliError.from(e);
  }
  if (unlocked.value.source === 'keychain')
    prompter.info('unlocked your key with the password remembered on this device');
  const attempt = await LoginAttempt.start({ enrollment, key: unlocked.value.key, store: files.store });
  let wrong = 0;
  for (let reuses = 0; ;) {
    const totp = await askTotpCode(prompter);
    if (attempt.isKnownReused(totp)) {
      // Sending it again could only fail again: an askpass helper (or a person) repeats the
      // code until the authenticator moves on, so wait for that instead.
      if (++reuses > MAX_REUSED_CODE_WAITS)
        throw new CliError('that authenticator code was already used', 'run `airlock login` with the next code');
      const wait = secondsToNextTotpStep();
      prompter.info(`that code was already used; waiting ${wait} s for the next one`);
      await new Promise((r) => setTimeout(r, wait * 1000));
      continue;
    }
    const res = await attempt.submit(totp);
    if (res.ok) return res.value;
    if (res.error.code === 'totp_reused') {
      prompter.info(res.error.message);
      continue;
    }
    if (res.error.code !== 'totp_failed' || ++wrong === TOTP_TRIES) throw CliError.from(res.error);
    prompter.info(`${res.error.message}; try again`);
  }
}

/** Times the same (already used) code is met again before giving up; each wait is one TOTP step. */
const MAX_REUSED_CODE_WAITS = 2;
