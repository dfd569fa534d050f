import { access } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { pino } from 'pino';
import type * as z from 'zod';
import { ADMIN_SCOPES, PortList } from '@airlock/shared';
import { AuditLog } from '../audit/audit-log.js';
import type { AuditRecorder } from '../audit/recorder.js';
import { prepareDataDir } from '../data-dir.js';
import { STORE_FILE } from '../relay-state.js';
import { openSqliteStore, type SqliteStore } from '../store/sqlite-store.js';
import { TLS_CERT_FILE, TLS_DIR } from '../tls.js';
import type { AdminFailure, AdminResult } from './admin-core.js';
import { AdminService } from './admin-service.js';
import { CliError } from './cli-error.js';
import { codeTarget } from './code-target.js';
import { OrgAdmin } from '../org/org-admin.js';

export { CliError } from './cli-error.js';

/** Where the CLI writes, and who it says is acting; tests replace all three. */
export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Audit actor, `cli:<os user>` by default. */
  actor: string;
  env: NodeJS.ProcessEnv;
}

export function defaultIo(): CliIo {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER ?? 'unknown';
  }
  return {
    out: (line) => void process.stdout.write(`${line}\n`),
    err: (line) => void process.stderr.write(`${line}\n`),
    actor: `cli:${user}`,
    env: process.env,
  };
}

export interface GlobalOptions {
  dataDir: string;
  relayUrl?: string;
  tlsCert?: string;
}

export function dataDirOf(cmd: Command): string {
  return resolve((cmd.optsWithGlobals() as GlobalOptions).dataDir);
}

export function storePathOf(dataDir: string): string {
  return join(dataDir, STORE_FILE);
}

const HINTS: Record<AdminFailure['code'], string> = {
  exists: 'pick another name, or see what exists with the matching `list` command',
  not_found: 'check the name or id with the matching `list` command',
  invalid: 'fix the value and try again',
  conflict: 'nothing to do; check the current state with the matching `list` command',
};

export function unwrap<T>(r: AdminResult<T>): T {
  if (r.ok) return r.value;
  throw new CliError(r.error.message, r.error.hint ?? HINTS[r.error.code]);
}

/** An AuditRecorder that remembers whether an append failed, so the CLI can say so (AuditLog never throws). */
class CountingRecorder implements AuditRecorder {
  failures = 0;
  constructor(private readonly inner: AuditRecorder) {}
  async record(event: Parameters<AuditRecorder['record']>[0]) {
    const entry = await this.inner.record(event);
    if (!entry) this.failures++;
    return entry;
  }
}

export interface AdminSession {
  service: AdminService;
  /** The organisation root's relay side (anchor, requests, answers, revocation lists). */
  org: OrgAdmin;
  store: SqliteStore;
  dataDir: string;
}

/**
 * Opens the relay's SQLite store in the data dir and an AdminService on it, runs `fn`, closes it.
 * Commands that only read refuse a data dir with no store (a mistyped --data-dir would otherwise
 * show an empty relay); commands that write create it, so an admin can set up before first start.
 * `needsPin`: the command issues codes, which carry the relay's TLS pin.
 */
export async function withAdmin<T>(
  cmd: Command,
  io: CliIo,
  opts: { create: boolean; needsPin?: boolean },
  fn: (s: AdminSession) => Promise<T>,
): Promise<T> {
  const dataDir = dataDirOf(cmd);
  const path = storePathOf(dataDir);
  if (!opts.create) await requireStore(path);
  const silent = pino({ level: 'silent' });
  await prepareDataDirNoting(dataDir, io);
  // Only codes carry the URL and pin; other commands need neither.
  const enrollment = opts.needsPin ? await codeTarget(cmd, io, dataDir) : { relayUrl: 'unused', pin: 'unused' };
  const store = openStoreAt(path);
  // No dataDir: the relay's own AuditLog copies entries appended by other processes into its JSONL file.
  const log = await AuditLog.open({ store: store.audit, logger: silent });
  const audit = new CountingRecorder(log);
  try {
    const service = new AdminService({ store, audit, enrollment });
    const result = await fn({ service, org: new OrgAdmin({ store, audit, enrollment }), store, dataDir });
    if (audit.failures > 0)
      throw new CliError(
        'the change was made but could not be written to the audit log',
        `check that ${path} is writable and not full, then run \`airlock-relay audit verify\``,
      );
    return result;
  } finally {
    await log.close();
    await store.close();
  }
}

export function relayCertPath(dataDir: string): string {
  return join(dataDir, TLS_DIR, TLS_CERT_FILE);
}

async function requireStore(path: string): Promise<void> {
  const missing = await access(path).then(
    () => undefined,
    (e: NodeJS.ErrnoException) => e,
  );
  if (!missing) return;
  // Only "not there" means there is no store: a store this user may not read is somebody else's.
  if (missing.code === 'ENOENT' || missing.code === 'ENOTDIR')
    throw new CliError(
      `no relay store at ${path}`,
      'pass the relay data folder with --data-dir (or AIRLOCK_RELAY_DATA_DIR), or create something first',
    );
  throw new CliError(
    `cannot open the relay store ${path} (${missing.code ?? missing.message})`,
    "run this as the user that owns the relay's data dir (the one the relay runs as)",
  );
}

/** The store alone (for `audit …`): refuses a data dir without one instead of creating it. */
export async function withStoreOnly(dataDir: string, io: Pick<CliIo, 'err'>): Promise<SqliteStore> {
  const path = storePathOf(dataDir);
  await requireStore(path);
  await prepareDataDirNoting(dataDir, io);
  return openStoreAt(path);
}

/** The store at `path`; a file that is no SQLite database (damaged, or another file) is named, with what to do. */
function openStoreAt(path: string): SqliteStore {
  try {
    return openSqliteStore(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT')
      throw new CliError(
        `${path} is not a readable relay store (${(e as Error).message})`,
        'restore relay.db from a backup, or point --data-dir (AIRLOCK_RELAY_DATA_DIR) at the right folder',
      );
    throw e;
  }
}

/** Makes the data dir private like the relay does, and tells the admin when it had to. */
async function prepareDataDirNoting(dataDir: string, io: Pick<CliIo, 'err'>): Promise<void> {
  const { tightenedFrom } = await prepareDataDir(dataDir, pino({ level: 'silent' }));
  if (tightenedFrom)
    io.err(`note: ${dataDir} was open to group or others (mode ${tightenedFrom}); changed its mode to 0700`);
}

// --- argument parsers (a bad value is a usage error: exit 2) -----------------------------

/** A commander argument parser from a zod schema; the message is the schema's. */
export function zodArg<T>(schema: z.ZodType<T>): (value: string) => T {
  return (value) => {
    const r = schema.safeParse(value);
    if (!r.success) throw new InvalidArgumentError(r.error.issues.map((i) => i.message).join('; '));
    return r.data;
  };
}

export function parsePorts(value: string): number[] {
  const parts = value.split(',').map((p) => p.trim());
  const nums = parts.map((p) => (/^\d+$/.test(p) ? Number(p) : NaN));
  const r = PortList.safeParse(nums);
  if (!r.success) throw new InvalidArgumentError('expected a comma-separated list of ports 1–65535, e.g. 22,8888');
  return r.data;
}

const DURATION = /^(\d+)([mhdw])$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** `--expires`: an ISO-8601 time, or a duration from now such as 30m, 8h, 7d, 2w. */
export function parseExpiry(value: string, now: () => Date = () => new Date()): string {
  const d = DURATION.exec(value);
  if (d) return new Date(now().getTime() + Number(d[1]) * UNIT_MS[d[2] as keyof typeof UNIT_MS]).toISOString();
  const t = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(t))
    throw new InvalidArgumentError('expected an ISO-8601 time (2025-01-31T18:00:00Z) or a duration (30m, 8h, 7d, 2w)');
  return new Date(t).toISOString();
}

export function parseScopes(value: string): string[] {
  const scopes = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const unknown = scopes.filter((s) => !(ADMIN_SCOPES as readonly string[]).includes(s));
  if (scopes.length === 0 || unknown.length > 0)
    throw new InvalidArgumentError(
      `${unknown.length > 0 ? `unknown scope ${unknown.join(', ')}; ` : ''}expected a comma-separated list of: ${ADMIN_SCOPES.join(', ')}`,
    );
  return [...new Set(scopes)];
}

// --- output -------------------------------------------------------------------------------

export function table(io: CliIo, header: string[], rows: string[][]): void {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  for (const r of all)
    io.out(
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
}

export function json(io: CliIo, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}
