/** Helpers for the admin tests: a real SQLite file, the real audit log and an AdminService on them. */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestClock } from '@airlock/shared/testing';
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { sshFingerprintFromPem } from '@airlock/shared';
import { AuditLog } from '../audit/audit-log.js';
import { main } from '../cli.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite-store.js';
import type { AuditEntry } from '../store/types.js';
import { AdminService } from './admin-service.js';
import type { CliIo } from './cli-context.js';

export const TEST_PIN = `sha256/${Buffer.alloc(32, 7).toString('base64')}`;
export const TEST_RELAY_URL = 'https://relay.test:7443';

/** A clock the test moves by hand, so expiry does not depend on the wall clock. */
export interface AdminFixture {
  dir: string;
  dbPath: string;
  store: SqliteStore;
  audit: AuditLog;
  service: AdminService;
  clock: TestClock;
  /** Every audit entry so far, oldest first. */
  entries(): Promise<AuditEntry[]>;
}

export async function adminFixture(t: TestContext): Promise<AdminFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-admin-'));
  const dbPath = join(dir, 'relay.db');
  const clock = new TestClock(Date.parse('2030-01-01T00:00:00.000Z'));
  const store = openSqliteStore(dbPath, { now: clock.now });
  const audit = await AuditLog.open({ store: store.audit, logger: pino({ level: 'silent' }), now: clock.now });
  t.after(async () => {
    await audit.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const service = new AdminService({
    store,
    audit,
    enrollment: { relayUrl: TEST_RELAY_URL, pin: TEST_PIN },
    now: clock.now,
  });
  return { dir, dbPath, store, audit, service, clock, entries: () => store.audit.range(0, 10_000) };
}

/** A device as Connect would register it after enrollment. */
export async function addDevice(store: SqliteStore, user: string, name = 'laptop') {
  const publicKeyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString();
  return store.devices.create({ user, name, publicKeyPem, fingerprint: sshFingerprintFromPem(publicKeyPem) });
}

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** The CLI in-process on a fresh data dir, output captured, acting as `cli:tester`. */
export async function cliIn(t: TestContext, env: NodeJS.ProcessEnv = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-relay-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const run = async (...args: string[]): Promise<CliRun> => {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { out: (l) => void out.push(l), err: (l) => void err.push(l), actor: 'cli:tester', env };
    const code = await main(['--data-dir', dir, ...args], io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const json = async (...args: string[]) => {
    const r = await run(...args, '--json');
    assert.equal(r.code, 0, r.err);
    return JSON.parse(r.out);
  };
  return { dir, run, json };
}
