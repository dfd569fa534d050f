import { closeSync, fstatSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { makeFoldersSync } from '@airlock/shared';

export interface RotatingFileOptions {
  folder: string;
  /** `connect` → `connect.log`, then `connect.1.log`, `connect.2.log` … (newest first). */
  name: string;
  ext: string;
  /** A file is rotated once it reaches this size. */
  maxBytes: number;
  /** How many files are kept, the one being written included (at least 2). */
  files: number;
}

/** After this long a rotation lock is taken to be left behind by a process that died holding it. */
const STALE_LOCK_MS = 5_000;
/** How often a writer checks whether another process rotated the file under it. */
const RENAME_CHECK_MS = 1_000;

/**
 * Lines appended to a size-bounded set of files (at most `files × maxBytes`, give or take a line
 * per writer), synchronously: a CLI command ends with `process.exit`, and the lines written just
 * before it — the failure helpdesk needs — must be on disk by then.
 *
 * Several Connect processes may write the same files at once (`airlock forward` running while
 * `airlock exec` starts): every write is one `write(2)` with O_APPEND, so lines never interleave;
 * rotation renames the files under a lock file created with O_EXCL, and a writer whose file was
 * rotated by another process reopens the new one within a second. Files are 0600 and the folder
 * 0700: logs name VMs, ports and session ids.
 *
 * Writing never throws: a log that cannot be written must not end a command. The first failure
 * is kept in `lastError`, and writing is tried again on the next line.
 */
export class RotatingFile {
  readonly path: string;
  lastError: string | undefined;
  private fd: number | undefined;
  private ino = 0;
  private size = 0;
  private lastRenameCheck = 0;

  constructor(private readonly options: RotatingFileOptions) {
    if (options.files < 2) throw new Error('a rotating file keeps at least 2 files');
    this.path = rotatedPath(options, 0);
  }

  /** Every file of the set that exists, newest first. */
  existingPaths(): string[] {
    return rotatedPaths(this.options).filter((p) => {
      try {
        return statSync(p).isFile();
      } catch {
        return false;
      }
    });
  }

  write(line: string): void {
    try {
      this.writeOrThrow(line.endsWith('\n') ? line : line + '\n');
    } catch (e) {
      this.lastError ??= (e as Error).message;
      this.closeQuietly();
    }
  }

  close(): void {
    this.closeQuietly();
  }

  private writeOrThrow(line: string): void {
    const now = Date.now();
    if (this.fd !== undefined && now - this.lastRenameCheck >= RENAME_CHECK_MS) {
      this.lastRenameCheck = now;
      if (this.rotatedElsewhere()) this.closeQuietly();
    }
    const bytes = Buffer.from(line, 'utf8');
    if (this.fd === undefined) this.open();
    // Rotate before a line that would take the file past the bound (a longer line gets a file of its own).
    if (this.size > 0 && this.size + bytes.length > this.options.maxBytes) {
      this.rotate();
      if (this.fd === undefined) this.open();
    }
    writeSync(this.fd!, bytes);
    this.size += bytes.length;
  }

  private open(): void {
    makeFoldersSync(this.options.folder, 0o700);
    const fd = openSync(this.path, 'a', 0o600);
    const st = fstatSync(fd);
    this.fd = fd;
    this.ino = st.ino;
    this.size = st.size;
    this.lastRenameCheck = Date.now();
  }

  /** Whether the path now names another file than ours (another process rotated it, or it was removed). */
  private rotatedElsewhere(): boolean {
    try {
      return statSync(this.path).ino !== this.ino;
    } catch {
      return true;
    }
  }

  private rotate(): void {
    if (this.rotatedElsewhere()) return this.closeQuietly();
    const lock = `${this.path}.lock`;
    if (!takeLock(lock)) return; // another process is rotating; our next check sees its result
    try {
      if (this.rotatedElsewhere()) return;
      const { files } = this.options;
      for (let i = files - 1; i >= 1; i--) {
        const from = rotatedPath(this.options, i - 1);
        const to = rotatedPath(this.options, i);
        try {
          renameSync(from, to); // replaces the oldest, which falls off the end
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        }
      }
    } finally {
      try {
        unlinkSync(lock);
      } catch {
        // gone already
      }
      this.closeQuietly();
    }
  }

  private closeQuietly(): void {
    const fd = this.fd;
    this.fd = undefined;
    if (fd === undefined) return;
    try {
      closeSync(fd);
    } catch {
      // nothing to do
    }
  }
}

/** The lock file, created exclusively; one left by a process that died is taken over after a while. */
function takeLock(lock: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      closeSync(openSync(lock, 'wx', 0o600));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return false;
      try {
        if (Date.now() - statSync(lock).mtimeMs < STALE_LOCK_MS) return false;
        unlinkSync(lock);
      } catch {
        return false;
      }
    }
  }
  return false;
}

function rotatedPath(o: Pick<RotatingFileOptions, 'folder' | 'name' | 'ext'>, index: number): string {
  return join(o.folder, index === 0 ? `${o.name}${o.ext}` : `${o.name}.${index}${o.ext}`);
}

/** All paths of a rotating set, newest first, whether or not they exist. */
export function rotatedPaths(o: Pick<RotatingFileOptions, 'folder' | 'name' | 'ext' | 'files'>): string[] {
  return Array.from({ length: o.files }, (_, i) => rotatedPath(o, i));
}

/**
 * The last `count` lines of a rotating set (oldest first), read from the newest files back. A
 * file that cannot be read is skipped: this is for diagnostics, which must not fail on it.
 */
export function lastLines(paths: readonly string[], count: number): string[] {
  const taken: string[][] = [];
  let have = 0;
  for (const path of paths) {
    if (have >= count) break;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      continue;
    }
    const lines = text.split('\n').filter((l) => l.length > 0);
    const take = lines.slice(Math.max(0, lines.length - (count - have)));
    taken.unshift(take);
    have += take.length;
  }
  return taken.flat();
}
