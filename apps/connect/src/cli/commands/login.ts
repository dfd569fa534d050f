import type { CliContext } from '../context.js';
import { loginInteractively } from '../authenticate.js';
import { CliError, EXIT, UsageError } from '../errors.js';

/**
 * `airlock login`: the enrolled device's key (password, or the OS keychain when remembered) and an
 * authenticator code buy a 30-minute access token bound to a fresh client certificate.
 */
export async function loginCommand(
  ctx: CliContext,
  opts: { remember?: boolean; json?: boolean; relay?: string; user?: string },
): Promise<number> {
  if (opts.relay !== undefined || opts.user !== undefined)
    throw new UsageError(
      '`airlock login` no longer takes --relay or --user: they come from enrolling this device',
      'run `airlock enroll <relay-url> <code>` with the code from your admin, then `airlock login`',
    );
  const enrollment = await ctx.enrollment();
  const files = { home: ctx.paths.home, keys: ctx.keys, store: ctx.store };
  const session = await loginInteractively(files, enrollment, ctx.prompter, { remember: opts.remember });
  const { relayUrl, user, expiresAt } = session;
  if (opts.json)
    process.stdout.write(JSON.stringify({ ok: true, relayUrl, user, deviceId: session.deviceId, expiresAt }) + '\n');
  else process.stdout.write(`logged in to ${relayUrl} as ${user} (until ${expiresAt})\n`);
  return EXIT.ok;
}

export async function logoutCommand(ctx: CliContext): Promise<number> {
  const removed = await ctx.login.logout();
  process.stdout.write(removed ? 'logged out\n' : 'not logged in\n');
  return EXIT.ok;
}

/** `airlock key show`: the device's public key, readable without the password. */
export async function keyShowCommand(ctx: CliContext, opts: { json?: boolean }): Promise<number> {
  const key = await ctx.keys.publicKey();
  if (!key.ok) throw CliError.from(key.error);
  const { publicKeyPem, fingerprint } = key.value;
  const publicKeyPath = ctx.paths.userPublicKey;
  if (opts.json) process.stdout.write(JSON.stringify({ fingerprint, publicKeyPem, publicKeyPath }) + '\n');
  else process.stdout.write(`${publicKeyPem.trimEnd()}\nFingerprint: ${fingerprint}\nFile: ${publicKeyPath}\n`);
  return EXIT.ok;
}
