import * as z from 'zod';
import type { Db } from './database.js';
import type { Clock } from './sql-util.js';
import type { OrgState, OrgStateStore } from './types.js';

interface Row {
  name: 'anchor' | 'crl';
  value: string;
  seq: number | null;
  updated_at: string;
}

const Chain = z.array(z.string());

/** Reads a stored chain column (JSON text); anything unreadable is treated as absent. */
export function chainFromColumn(text: string | null): string[] | undefined {
  if (text === null) return undefined;
  try {
    const parsed = Chain.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function chainToColumn(chain: string[] | undefined): string | null {
  return chain ? JSON.stringify(chain) : null;
}

export class SqliteOrgStateStore implements OrgStateStore {
  constructor(
    private readonly db: Db,
    private readonly now: Clock,
  ) {}

  async get(): Promise<OrgState> {
    const rows = this.db.prepare('SELECT * FROM org_state').all() as Row[];
    const anchor = rows.find((r) => r.name === 'anchor');
    const crl = rows.find((r) => r.name === 'crl');
    const crlChain = crl ? chainFromColumn(crl.value) : undefined;
    return {
      ...(anchor ? { anchor: { text: anchor.value, setAt: anchor.updated_at } } : {}),
      ...(crl && crlChain && crl.seq !== null ? { crl: { chain: crlChain, seq: crl.seq, setAt: crl.updated_at } } : {}),
    };
  }

  async setAnchor(text: string, newOrganisation = false): Promise<void> {
    this.db
      .transaction(() => {
        this.db
          .prepare(
            `INSERT INTO org_state (name, value, seq, updated_at) VALUES ('anchor', ?, NULL, ?)
           ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
          )
          .run(text, this.now().toISOString());
        if (newOrganisation) this.db.prepare("DELETE FROM org_state WHERE name = 'crl'").run();
      })
      .immediate();
  }

  async setCrl(chain: string[], seq: number): Promise<boolean> {
    // Higher seq only, decided inside one write transaction: the relay and the CLI may both set one.
    const set = this.db.transaction((): boolean => {
      const current = this.db.prepare("SELECT seq FROM org_state WHERE name = 'crl'").get() as
        { seq: number } | undefined;
      if (current && current.seq >= seq) return false;
      this.db
        .prepare(
          `INSERT INTO org_state (name, value, seq, updated_at) VALUES ('crl', ?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET value = excluded.value, seq = excluded.seq, updated_at = excluded.updated_at`,
        )
        .run(JSON.stringify(chain), seq, this.now().toISOString());
      return true;
    });
    return set.immediate();
  }
}
