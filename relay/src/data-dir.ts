import { chmod, mkdir, stat } from 'node:fs/promises';
import type { Logger } from 'pino';

/**
 * Creates the data dir (0700) or, when it exists, makes sure nobody but its owner can write to
 * it: whoever can write there could swap the directory or the signing key for their own.
 */
export async function prepareDataDir(dataDir: string, logger: Logger): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const st = await stat(dataDir);
  if (!st.isDirectory()) throw new Error(`data dir ${dataDir} is not a directory`);
  const mode = st.mode & 0o777;
  if ((mode & 0o022) !== 0) {
    await chmod(dataDir, 0o700);
    logger.warn(
      { dataDir, oldMode: mode.toString(8).padStart(4, '0'), newMode: '0700' },
      'data dir was writable by group or others; changed its mode to 0700',
    );
  }
}
