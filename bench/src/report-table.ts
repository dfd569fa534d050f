// The bench's printed table: one row per measure, a loopback and a 40 ms RTT column.

export class ReportTable {
  private readonly rows: Array<[string, string, string]> = [];

  /** Numbers are printed without decimals; strings as given. */
  row(name: string, loopback: number | string, rtt: number | string): void {
    const show = (x: number | string) => (typeof x === 'number' ? x.toFixed(0) : x);
    this.rows.push([name, show(loopback), show(rtt)]);
  }

  print(rttMs: number): void {
    const w = Math.max('measure'.length, ...this.rows.map((r) => r[0].length));
    console.log(`${'measure'.padEnd(w)}  ${'loopback'.padStart(9)}  ${`${rttMs} ms RTT`.padStart(10)}`);
    for (const [a, b, c] of this.rows) console.log(`${a.padEnd(w)}  ${b.padStart(9)}  ${c.padStart(10)}`);
  }
}

/** "0.52", or "n/a" when either side is missing. */
export const ratio = (a: number | undefined, b: number | undefined): string => (a && b ? (a / b).toFixed(2) : 'n/a');
