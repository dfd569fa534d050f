import { unlink } from 'node:fs/promises';
import { z } from 'zod';
import { err, ok, UserName, type Result } from '@airlock/shared';
import { ensureHome, type AirlockPaths } from './paths.js';
import { readFileIfExists, writeFileAtomic } from '@airlock/shared';

export const ConnectConfig = z.object({
  relayUrl: z.string().url().optional(),
  user: UserName.optional(),
});
export type ConnectConfig = z.infer<typeof ConnectConfig>;

/** What `airlock login` leaves behind: the relay's access token for one user on one relay. */
export const SavedSession = z.object({
  relayUrl: z.string(),
  user: UserName,
  accessToken: z.string(),
  expiresAt: z.string(),
});
export type SavedSession = z.infer<typeof SavedSession>;

export type StoredTokenError = { code: 'not_logged_in'; message: string } | { code: 'token_expired'; message: string };

/** Strips a trailing slash so `http://relay:7443/` and `http://relay:7443` name the same relay. */
export function normalizeRelayUrl(url: string): string {
  return url.trim().replace(/\/+$/, '');
}

export class ConfigStore {
  constructor(readonly paths: AirlockPaths) {}

  async readConfig(): Promise<ConnectConfig> {
    const text = await readFileIfExists(this.paths.config);
    if (text === undefined) return {};
    const parsed = ConnectConfig.safeParse(safeJson(text));
    if (!parsed.success) throw new Error(`${this.paths.config} is not a valid Airlock config; fix or delete it`);
    return parsed.data;
  }

  async writeConfig(config: ConnectConfig): Promise<void> {
    await ensureHome(this.paths);
    await writeFileAtomic(this.paths.config, JSON.stringify(config, null, 2) + '\n', 0o644);
  }

  async readSession(): Promise<SavedSession | undefined> {
    const text = await readFileIfExists(this.paths.session);
    if (text === undefined) return undefined;
    const parsed = SavedSession.safeParse(safeJson(text));
    return parsed.success ? parsed.data : undefined;
  }

  async writeSession(session: SavedSession): Promise<void> {
    await ensureHome(this.paths);
    await writeFileAtomic(this.paths.session, JSON.stringify(session, null, 2) + '\n', 0o600);
  }

  async clearSession(): Promise<boolean> {
    try {
      await unlink(this.paths.session);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  /**
   * The saved access token for this relay, checked locally first: an expired or missing token
   * is reported without a round trip (the relay would say the same).
   */
  async accessToken(relayUrl: string, now: number = Date.now()): Promise<Result<SavedSession, StoredTokenError>> {
    const s = await this.readSession();
    if (!s || normalizeRelayUrl(s.relayUrl) !== normalizeRelayUrl(relayUrl))
      return err({ code: 'not_logged_in', message: `not logged in to ${relayUrl}` });
    const exp = Date.parse(s.expiresAt);
    if (Number.isFinite(exp) && exp <= now)
      return err({ code: 'token_expired', message: `your login to ${relayUrl} expired at ${s.expiresAt}` });
    return ok(s);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
