import { chmod } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeFolders } from '@airlock/shared';

/** Where Connect keeps its files. Everything lives under one folder so tests and scripts can point `AIRLOCK_HOME` elsewhere. */
export interface AirlockPaths {
  home: string;
  /** `{ relayUrl, user }` — not secret. */
  config: string;
  /** The user's private key, password-encrypted (`key-file.ts`), mode 0600. */
  userKey: string;
  /** Where Airlock before issue 3 kept an unencrypted key: only looked at to say so. */
  legacyUserKey: string;
  /** The user's public key (SPKI PEM), for handing to an admin. */
  userPublicKey: string;
  /** The access token and its expiry, mode 0600. */
  session: string;
}

export function airlockHome(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.AIRLOCK_HOME?.trim();
  return fromEnv ? resolve(fromEnv) : join(homedir(), '.airlock');
}

export function airlockPaths(home: string = airlockHome()): AirlockPaths {
  return {
    home,
    config: join(home, 'config.json'),
    userKey: join(home, 'user-key.json'),
    legacyUserKey: join(home, 'user-key.pem'),
    userPublicKey: join(home, 'user-key.pub.pem'),
    session: join(home, 'session.json'),
  };
}

/** Creates the home folder (0700) if needed and tightens its mode if it already existed. */
export async function ensureHome(paths: AirlockPaths): Promise<void> {
  await makeFolders(paths.home, 0o700);
  await chmod(paths.home, 0o700);
}
