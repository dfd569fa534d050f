import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';

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

/** What readFileIfExists reads at most: Airlock's own files (config, keys, backups, state) are far smaller. */
export const MAX_READ_FILE_BYTES = 8 * 1024 * 1024;

/**
 * The file's text, or undefined when it does not exist. Other errors (permissions…) are thrown,
 * and so is a file past `maxBytes` (code `EFBIG`), read no further: a path a person gives
 * (`backup import /dev/zero`) must not fill memory.
 */
export async function readFileIfExists(path: string, maxBytes = MAX_READ_FILE_BYTES): Promise<string | undefined> {
  let file;
  try {
    file = await open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(64 * 1024, maxBytes - size + 1));
      const { bytesRead } = await file.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      size += bytesRead;
      if (size > maxBytes)
        throw Object.assign(new Error(`${path} holds more than ${maxBytes} bytes`), { code: 'EFBIG' });
      chunks.push(chunk.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    await file.close();
  }
}
