import { err, ok, signLogin, type Result } from '@airlock/shared';
import type { ConfigStore, SavedSession } from './config-store.js';
import { RelayClient, type RelayError } from './relay-client.js';
import type { UserKey } from './user-key-store.js';

export interface LoginOptions {
  relayUrl: string;
  user: string;
  key: UserKey;
  store: ConfigStore;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** Challenge → sign with the user key → access token, saved (0600) for the commands that follow. */
export async function login(options: LoginOptions): Promise<Result<SavedSession, RelayError>> {
  const relay = new RelayClient({ relayUrl: options.relayUrl, fetch: options.fetch, timeoutMs: options.timeoutMs });
  const challenge = await relay.challenge(options.user);
  if (!challenge.ok) return challenge;
  const signature = signLogin(options.key.privateKey, options.user, challenge.value.nonce);
  const res = await relay.login({ user: options.user, nonce: challenge.value.nonce, signature });
  if (!res.ok) return res;
  if (res.value.user !== options.user)
    return err({
      code: 'bad_response',
      url: relay.relayUrl,
      message: `the relay logged us in as "${res.value.user}" instead of "${options.user}"`,
    });
  const saved: SavedSession = {
    relayUrl: relay.relayUrl,
    user: res.value.user,
    accessToken: res.value.accessToken,
    expiresAt: res.value.expiresAt,
  };
  await options.store.writeSession(saved);
  return ok(saved);
}
