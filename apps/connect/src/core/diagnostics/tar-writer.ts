import { gzipSync } from 'node:zlib';

/** One file (or folder, when the name ends in `/`) of an archive. */
export interface TarEntry {
  name: string;
  content?: Buffer | string;
  /** Default 0600 for files, 0700 for folders. */
  mode?: number;
}

const BLOCK = 512;

/**
 * A gzip-compressed POSIX ustar archive of a few in-memory files — what the support bundle
 * needs and no more (names up to 100 bytes, regular files and folders). Written here rather than
 * with a tar package: the format is fixed and small, the bundle never extracts anything, and the
 * test reads the result back with GNU tar. Compression is Node's zlib.
 */
export function tarGz(entries: readonly TarEntry[], mtime: Date): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const folder = entry.name.endsWith('/');
    const data = folder ? Buffer.alloc(0) : Buffer.from(entry.content ?? '');
    blocks.push(header(entry.name, data.length, entry.mode ?? (folder ? 0o700 : 0o600), folder, mtime));
    if (data.length) {
      blocks.push(data);
      const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
      if (pad) blocks.push(Buffer.alloc(pad));
    }
  }
  blocks.push(Buffer.alloc(BLOCK * 2)); // the end of the archive: two empty blocks
  return gzipSync(Buffer.concat(blocks));
}

function header(name: string, size: number, mode: number, folder: boolean, mtime: Date): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length > 100) throw new Error(`tar: name longer than 100 bytes: ${name}`);
  const h = Buffer.alloc(BLOCK);
  nameBytes.copy(h, 0);
  octal(h, 100, 8, mode);
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, size);
  octal(h, 136, 12, Math.floor(mtime.getTime() / 1000));
  h.fill(0x20, 148, 156); // the checksum counts its own field as spaces
  h.write(folder ? '5' : '0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write('airlock', 265, 'ascii'); // uname
  h.write('airlock', 297, 'ascii'); // gname
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return h;
}

/** A number as zero-padded octal, NUL-terminated, filling `length` bytes at `offset`. */
function octal(h: Buffer, offset: number, length: number, value: number): void {
  const text = value.toString(8).padStart(length - 1, '0');
  if (text.length > length - 1) throw new Error(`tar: ${value} does not fit in ${length} bytes`);
  h.write(text + '\0', offset, 'ascii');
}
