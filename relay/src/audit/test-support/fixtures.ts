/** Real parts for the audit tests: a SQLite file in a tmp data dir, a signing key, loggers. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import { pino, type Logger } from 'pino';
import { generateRelaySigningKey, type RelaySigningKey } from '@airlock/shared';
import { openSqliteStore, type SqliteStore } from '../../store/sqlite-store.js';
import { publicKeyPemOf } from '../../signing-key.js';

export const silentLogger: Logger = pino({ level: 'silent' });

/** A logger whose JSON lines land in `lines` (to assert what was logged). */
export function captureLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

export interface SqliteFixture {
  dataDir: string;
  dbPath: string;
  store: SqliteStore;
  /** Closes the store (idempotent); the tmp dir goes after the test. */
  close(): Promise<void>;
  /** Opens the same file again (a restart, or the admin CLI in another process). */
  reopen(): SqliteStore;
}

export async function sqliteFixture(t: TestContext): Promise<SqliteFixture> {
  const dataDir = await mkdtemp(join(tmpdir(), 'airlock-audit-'));
  const dbPath = join(dataDir, 'relay.db');
  const opened: SqliteStore[] = [];
  const reopen = () => {
    const s = openSqliteStore(dbPath);
    opened.push(s);
    return s;
  };
  const store = reopen();
  const close = async () => {
    for (const s of opened) await s.close();
  };
  t.after(async () => {
    await close();
    await rm(dataDir, { recursive: true, force: true });
  });
  return { dataDir, dbPath, store, close, reopen };
}

export function testKey(): { key: RelaySigningKey; publicKeyPem: string } {
  const key = generateRelaySigningKey();
  return { key, publicKeyPem: publicKeyPemOf(key) };
}
