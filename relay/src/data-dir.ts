import { chmod, stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { makeFolders } from '@airlock/shared';

export interface DataDirPrepared {
  /** Set when an existing dir was open to group or others and has been made 0700. */
  tightenedFrom?: string;
}

/**
 * Creates the data dir (0700) or, when it exists, makes it private to its owner: whoever can
 * write there could swap the signing key or the TLS key for their own, and whoever can read or
 * list it sees the audit copy and what the relay keeps, even where each secret file is 0600.
 */
export async function prepareDataDir(dataDir: string, logger: Logger): Promise<DataDirPrepared> {
  await makeFolders(dataDir, 0o700);
  const st = await stat(dataDir);
  if (!st.isDirectory()) throw new Error(`data dir ${dataDir} is not a directory`);
  const mode = st.mode & 0o777;
  if ((mode & 0o077) === 0) return {};
  await chmod(dataDir, 0o700);
  const oldMode = mode.toString(8).padStart(4, '0');
  logger.warn({ dataDir, oldMode, newMode: '0700' }, 'data dir was open to group or others; changed its mode to 0700');
  return { tightenedFrom: oldMode };
}
