import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '@airlock/shared';
import { DocumentDirectory, DirectoryDocument, emptyDocument } from './document.js';

export const DIRECTORY_FILE = 'directory.json';

/**
 * The directory as one JSON file (mode 0600, replaced atomically on every write). The file is
 * re-read when its modification time or size changes, so `airlock-relay user add` in another
 * process takes effect on a running relay without a restart.
 */
export class JsonFileDirectory extends DocumentDirectory {
  private cache?: { doc: DirectoryDocument; mtimeMs: number; size: number };

  private constructor(readonly path: string) {
    super();
  }

  static async open(dataDir: string): Promise<JsonFileDirectory> {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const dir = new JsonFileDirectory(join(dataDir, DIRECTORY_FILE));
    await dir.read();
    return dir;
  }

  protected async read(): Promise<DirectoryDocument> {
    let st;
    try {
      st = await stat(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      return (this.cache ??= { doc: emptyDocument(), mtimeMs: -1, size: -1 }).doc;
    }
    if (this.cache && this.cache.mtimeMs === st.mtimeMs && this.cache.size === st.size) return this.cache.doc;
    const text = await readFile(this.path, 'utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`${this.path} is not valid JSON; fix it or restore it from backup`);
    }
    const parsed = DirectoryDocument.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`${this.path} is not a valid directory (${issue?.path.join('.')}: ${issue?.message})`);
    }
    this.cache = { doc: parsed.data, mtimeMs: st.mtimeMs, size: st.size };
    return parsed.data;
  }

  protected async write(doc: DirectoryDocument): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.path, JSON.stringify(doc, null, 2) + '\n', 0o600);
    const st = await stat(this.path);
    this.cache = { doc, mtimeMs: st.mtimeMs, size: st.size };
  }
}
