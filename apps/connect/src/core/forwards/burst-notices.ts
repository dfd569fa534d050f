/**
 * Says a repeated failure once per burst: a browser that opens 30 connections to a port where
 * nothing listens should get one line, not 30. The first notice of a kind is passed on at once;
 * more of the same kind are counted while they keep coming (less than `quietMs` apart), and when
 * the burst is over one summary line says how many there were.
 */
export class BurstNotices<T = string> {
  private readonly bursts = new Map<string, { more: number; timer: NodeJS.Timeout; summary: (n: number) => T }>();

  constructor(
    private readonly say: (notice: T) => void,
    private readonly quietMs = 2000,
  ) {}

  /** `key` names the kind of failure (e.g. port and error code); `summary(n)` says "n more like it". */
  notice(key: string, line: T, summary: (more: number) => T): void {
    const burst = this.bursts.get(key);
    if (burst) {
      burst.more++;
      burst.timer.refresh();
      return;
    }
    this.say(line);
    const timer = setTimeout(() => this.end(key), this.quietMs);
    timer.unref();
    this.bursts.set(key, { more: 0, timer, summary });
  }

  /** Ends every burst now (summaries included), e.g. before the program exits. */
  flush(): void {
    for (const key of [...this.bursts.keys()]) this.end(key);
  }

  private end(key: string): void {
    const burst = this.bursts.get(key);
    if (!burst) return;
    clearTimeout(burst.timer);
    this.bursts.delete(key);
    if (burst.more > 0) this.say(burst.summary(burst.more));
  }
}
