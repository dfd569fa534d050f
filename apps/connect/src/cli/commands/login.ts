import { userInfo } from 'node:os';
import { UserName } from '@airlock/shared';
import { normalizeRelayUrl } from '../../core/config-store.js';
import { login } from '../../core/login.js';
import type { UserKey } from '../../core/user-key-store.js';
import type { CliContext } from '../context.js';
import { CliError, EXIT, UsageError } from '../errors.js';

function checkRelayUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`bad relay URL "${url}"`, 'use e.g. https://relay.example.org or http://127.0.0.1:7443');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new UsageError(`bad relay URL "${url}": must start with https:// or http://`);
  if (parsed.search || parsed.hash) throw new UsageError(`bad relay URL "${url}": no query or fragment please`);
  return normalizeRelayUrl(parsed.toString());
}

function defaultUser(): string | undefined {
  try {
    const name = userInfo().username.toLowerCase();
    return UserName.safeParse(name).success ? name : undefined;
  } catch {
    return undefined;
  }
}

export function keyJson(ctx: CliContext, key: UserKey) {
  return { fingerprint: key.fingerprint, publicKeyPem: key.publicKeyPem, publicKeyPath: ctx.paths.userPublicKey };
}

/** `airlock login`: key on first use, relay/user remembered, challenge signed, token saved. */
export async function loginCommand(
  ctx: CliContext,
  opts: { relay?: string; user?: string; json?: boolean },
): Promise<number> {
  const config = await ctx.readConfig();
  const rawRelay = opts.relay ?? config.relayUrl;
  if (!rawRelay) throw new UsageError('no relay URL yet', 'run `airlock login --relay <url> --user <name>`');
  const relayUrl = checkRelayUrl(rawRelay);
  const user = opts.user ?? config.user ?? defaultUser();
  if (!user) throw new UsageError('no user name yet', 'run `airlock login --user <name>`');
  const validUser = UserName.safeParse(user);
  if (!validUser.success)
    throw new UsageError(`bad user name "${user}": ${validUser.error.issues[0]?.message ?? 'invalid'}`);

  let created = false;
  let loaded = await ctx.keys.load();
  if (!loaded.ok && loaded.error.code === 'no_user_key') {
    loaded = await ctx.keys.generate();
    created = loaded.ok;
  }
  if (!loaded.ok) throw CliError.from(loaded.error);
  const key = loaded.value;
  if (created) process.stderr.write(`created your user key ${key.fingerprint} at ${ctx.paths.userKey}\n`);

  await ctx.store.writeConfig({ ...config, relayUrl, user });
  const res = await login({ relayUrl, user, key, store: ctx.store });
  if (!res.ok) {
    if (res.error.code !== 'login_failed') throw CliError.from(res.error);
    const lines = [
      `airlock: the relay at ${relayUrl} did not accept user "${user}" with key ${key.fingerprint}` +
        (res.error.message ? ` (${res.error.message})` : ''),
      created ? 'Your key is new, so the relay does not know it yet.' : 'If your key is not registered yet:',
      'Send your public key to an admin, who registers it with:',
      `  airlock-relay user add ${user} --public-key ${ctx.paths.userPublicKey}`,
      'Your public key:',
      key.publicKeyPem.trimEnd(),
      `Fingerprint: ${key.fingerprint}`,
      'Then run `airlock login` again.',
    ];
    process.stderr.write(lines.join('\n') + '\n');
    if (opts.json)
      process.stdout.write(
        JSON.stringify({ ok: false, code: 'login_failed', relayUrl, user, created, ...keyJson(ctx, key) }) + '\n',
      );
    return EXIT.failure;
  }
  if (opts.json)
    process.stdout.write(
      JSON.stringify({
        ok: true,
        relayUrl,
        user,
        expiresAt: res.value.expiresAt,
        created,
        fingerprint: key.fingerprint,
      }) + '\n',
    );
  else process.stdout.write(`logged in to ${relayUrl} as ${user} (until ${res.value.expiresAt})\n`);
  return EXIT.ok;
}

export async function logoutCommand(ctx: CliContext): Promise<number> {
  const removed = await ctx.store.clearSession();
  process.stdout.write(removed ? 'logged out\n' : 'not logged in\n');
  return EXIT.ok;
}

export async function keyShowCommand(ctx: CliContext, opts: { json?: boolean }): Promise<number> {
  const key = await ctx.userKey();
  printKey(ctx, key, opts.json);
  return EXIT.ok;
}

export async function keyGenerateCommand(ctx: CliContext, opts: { json?: boolean }): Promise<number> {
  const created = await ctx.keys.generate();
  if (!created.ok && created.error.code !== 'user_key_exists') throw CliError.from(created.error);
  if (!created.ok) process.stderr.write(`a user key already exists at ${ctx.paths.userKey}; keeping it\n`);
  const key = created.ok ? created.value : await ctx.userKey();
  printKey(ctx, key, opts.json);
  return EXIT.ok;
}

function printKey(ctx: CliContext, key: UserKey, json?: boolean): void {
  if (json) return void process.stdout.write(JSON.stringify(keyJson(ctx, key)) + '\n');
  process.stdout.write(
    `${key.publicKeyPem.trimEnd()}\nFingerprint: ${key.fingerprint}\nFile: ${ctx.paths.userPublicKey}\n`,
  );
}
