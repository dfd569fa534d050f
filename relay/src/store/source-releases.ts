import type { Db } from './database.js';
import type { SourceRelease, SourceReleaseStore } from './types.js';

/** Requests older than this are of no use to a relay (it applies them within a second): pruned. */
const KEEP_MS = 24 * 60 * 60 * 1000;

export class SqliteSourceReleaseStore implements SourceReleaseStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => Date,
  ) {}

  async request(network: string): Promise<number> {
    const t = this.now();
    const write = this.db.transaction(() => {
      this.db
        .prepare('DELETE FROM source_releases WHERE requested_at < ?')
        .run(new Date(t.getTime() - KEEP_MS).toISOString());
      return Number(
        this.db
          .prepare('INSERT INTO source_releases (network, requested_at) VALUES (?, ?)')
          .run(network, t.toISOString()).lastInsertRowid,
      );
    });
    return write.immediate();
  }

  async after(id: number): Promise<SourceRelease[]> {
    return this.db
      .prepare('SELECT id, network FROM source_releases WHERE id > ? ORDER BY id')
      .all(id) as SourceRelease[];
  }

  async latest(): Promise<number> {
    return (this.db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM source_releases').get() as { id: number }).id;
  }
}
