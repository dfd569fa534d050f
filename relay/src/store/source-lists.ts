import * as z from 'zod';
import type { Db } from './database.js';
import type { HeldSourceList, SourceListStore } from './types.js';

/** Requests older than this are of no use to anyone (the CLI waits seconds): pruned. */
const KEEP_MS = 24 * 60 * 60 * 1000;
/** A relay answers at most this many requests a poll: a flood of them costs it a bounded amount. */
const ANSWERS_PER_POLL = 10;

// The answer is read back from a file another process wrote: checked, not trusted.
const Answer = z.object({
  at: z.string(),
  total: z.number().int().nonnegative(),
  sources: z.array(
    z.object({
      source: z.string(),
      limit: z.enum(['failed-attempts', 'requests', 'refused-upgrades']),
      retryAfterSeconds: z.number().int().nonnegative(),
    }),
  ),
});

export class SqliteSourceListStore implements SourceListStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => Date,
  ) {}

  async request(): Promise<number> {
    const t = this.now();
    const write = this.db.transaction(() => {
      this.db
        .prepare('DELETE FROM source_lists WHERE requested_at < ?')
        .run(new Date(t.getTime() - KEEP_MS).toISOString());
      return Number(
        this.db.prepare('INSERT INTO source_lists (requested_at) VALUES (?)').run(t.toISOString()).lastInsertRowid,
      );
    });
    return write.immediate();
  }

  async unanswered(): Promise<number[]> {
    return (
      this.db
        .prepare('SELECT id FROM source_lists WHERE answered_at IS NULL ORDER BY id LIMIT ?')
        .all(ANSWERS_PER_POLL) as { id: number }[]
    ).map((r) => r.id);
  }

  async answer(id: number, list: HeldSourceList): Promise<void> {
    this.db
      .prepare('UPDATE source_lists SET answered_at = ?, answer = ? WHERE id = ? AND answered_at IS NULL')
      .run(this.now().toISOString(), JSON.stringify(list), id);
  }

  async answerOf(id: number): Promise<HeldSourceList | undefined> {
    const row = this.db.prepare('SELECT answer FROM source_lists WHERE id = ?').get(id) as
      { answer: string | null } | undefined;
    if (!row?.answer) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(row.answer);
    } catch {
      value = undefined;
    }
    const parsed = Answer.safeParse(value);
    if (!parsed.success) throw new Error(`the relay's answer to list request ${id} is not readable`);
    return parsed.data;
  }
}
