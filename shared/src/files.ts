import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';

/**
 * Writes a file atomically with the given mode: a new temp file in the same folder, then rename.
 * The temp name is random and created exclusively (`wx`), so a file or symlink planted at a
 * guessed name makes the write fail instead of being written through.
 */
export async function writeFileAtomic(
  path: string,
  data: string,
  mode: number,
  /** Only for tests: the random part of the temp file name. */
  tempSuffix: () => string = () => randomBytes(16).toString('hex'),
): Promise<void> {
  const tmp = `${path}.${tempSuffix()}.tmp`;
  const file = await open(tmp, 'wx', mode);
  try {
    try {
      await file.chmod(mode); // the mode given to open() is narrowed by the umask
      await file.writeFile(data, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** The file's text, or undefined when it does not exist. Other errors (permissions…) are thrown. */
export async function readFileIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
