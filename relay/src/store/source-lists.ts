import * as z from 'zod';
import type { Db } from './database.js';
import type { HeldSourceList, SourceListStore } from './types.js';

/** The longest a CLI waits for an answer (`source list --timeout`): older requests go unanswered. */
export const MAX_LIST_WAIT_MS = 300_000;
/** Rows older than this are of no use to anyone: pruned at the next request. */
const KEEP_MS = 2 * MAX_LIST_WAIT_MS;
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

  /**
   * The oldest requests still waited for. Newest would starve a waiting CLI behind a backlog
   * (left by a relay that was hung, or too old to answer): nobody waits longer than
   * MAX_LIST_WAIT_MS, so older ones are passed over.
   */
  async unanswered(): Promise<number[]> {
    const since = new Date(this.now().getTime() - MAX_LIST_WAIT_MS).toISOString();
    return (
      this.db
        .prepare('SELECT id FROM source_lists WHERE answered_at IS NULL AND requested_at >= ? ORDER BY id LIMIT ?')
        .all(since, ANSWERS_PER_POLL) as { id: number }[]
    ).map((r) => r.id);
  }

  async forget(id: number): Promise<void> {
    this.db.prepare('DELETE FROM source_lists WHERE id = ?').run(id);
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
