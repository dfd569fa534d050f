/**
 * The one clock tests move by hand instead of waiting. Given a start it stands still there (store
 * and admin tests: every timestamp exact); without one it follows real time, shifted by whatever
 * was advanced (a running relay, whose sockets and timers still need time to pass).
 */
export class TestClock {
  private offsetMs = 0;
  constructor(private readonly startMs?: number) {}
  readonly nowMs = (): number => (this.startMs ?? Date.now()) + this.offsetMs;
  readonly now = (): Date => new Date(this.nowMs());
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
