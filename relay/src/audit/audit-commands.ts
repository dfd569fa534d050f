import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import type { AuditEntry, AuditQuery, AuditStore } from '../store/types.js';
import { SIGNING_PUBLIC_KEY_FILE } from '../signing-key.js';
import { auditJsonlPath } from './jsonl-copy.js';
import { MAX_UNSIGNED_ENTRIES, verifyJsonl, verifyStore, type VerifyResult } from './verify.js';

export interface AuditCommandContext {
  store: { audit: AuditStore; close(): Promise<void> };
  dataDir: string;
}

export interface AuditCommandIo {
  /** One line of output (default: stdout). */
  out?: (line: string) => void;
  /** One line of diagnostics (default: stderr). */
  err?: (line: string) => void;
  /** Ends `tail --follow` (default: SIGINT / SIGTERM). */
  signal?: AbortSignal;
  /** How often `tail --follow` looks for new entries (ms, default 1000). */
  followPollMs?: number;
}

/** `verify` found the log broken: the CLI prints the message and exits 1. */
export class AuditBrokenError extends Error {
  readonly exitCode = 1;
  constructor(readonly result: Extract<VerifyResult, { ok: false }>) {
    super(`audit log broken at entry ${result.seq}: ${result.message}`);
    this.name = 'AuditBrokenError';
  }
}

const MAX_LIMIT = 10_000;

function parseCount(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= MAX_LIMIT)) throw new InvalidArgumentError(`expected a whole number from 1 to ${MAX_LIMIT}`);
  return n;
}

const RELATIVE = /^(\d+)([smhd])$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** An ISO-8601 date or date-time, or a time ago such as 15m, 2h, 7d. */
export function parseTime(value: string, now: Date = new Date()): string {
  const rel = RELATIVE.exec(value);
  if (rel) return new Date(now.getTime() - Number(rel[1]) * UNIT_MS[rel[2] as keyof typeof UNIT_MS]).toISOString();
  const t = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(t))
    throw new InvalidArgumentError(
      'expected an ISO-8601 date or time (2025-01-31, 2025-01-31T12:00:00Z) or an age (15m, 2h, 7d)',
    );
  return new Date(t).toISOString();
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Event fields can come from the network (user names at a failed login): no terminal escapes. */
function clean(s: string): string {
  return s.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function dataValue(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? clean(v) : clean(JSON.stringify(v));
  return clean(JSON.stringify(v) ?? 'null');
}

/** One readable line: time, seq, type, outcome, actor, session, source, then the event data. */
export function formatEntry(e: AuditEntry): string {
  const parts = [e.ts, `#${e.seq}`, clean(e.type), e.outcome, clean(e.actor)];
  if (e.sid) parts.push(`sid=${clean(e.sid)}`);
  if (e.source) parts.push(`from=${clean(e.source)}`);
  let data = Object.entries(e.data)
    .map(([k, v]) => `${clean(k)}=${dataValue(v)}`)
    .join(' ');
  if (data.length > 240) data = `${data.slice(0, 239)}…`;
  if (data) parts.push(data);
  return parts.join('  ');
}

async function trustedKeys(dataDir: string, files: string[]): Promise<string[] | undefined> {
  const keys: string[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = await readFile(f, 'utf8');
    } catch (e) {
      throw new Error(`cannot read trusted key ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
        cause: e,
      });
    }
    // A file that is no key would be dropped when checkpoints are checked, and verify would pass
    // on the other keys alone, without a word about the one asked for.
    try {
      createPublicKey(text);
    } catch {
      throw new Error(`${f} is not a public key (PEM); give the relay's relay-signing-key.pub.pem of that time`);
    }
    keys.push(text);
  }
  try {
    keys.push(await readFile(join(dataDir, SIGNING_PUBLIC_KEY_FILE), 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return keys.length > 0 ? keys : undefined;
}

/**
 * Adds `audit verify|tail|query` to the admin CLI. `open` is called only when a command runs;
 * the store it returns is closed afterwards. Bad options end in commander's usage error
 * (the CLI's exit 2); a broken log throws `AuditBrokenError` (exit 1).
 */
export function registerAuditCommands(
  program: Command,
  open: () => Promise<AuditCommandContext>,
  io: AuditCommandIo = {},
): Command {
  const out = io.out ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const err = io.err ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const withStore = async <T>(fn: (ctx: AuditCommandContext) => Promise<T>): Promise<T> => {
    const ctx = await open();
    try {
      return await fn(ctx);
    } finally {
      await ctx.store.close();
    }
  };
  const print = (entries: AuditEntry[], json: boolean | undefined) => {
    for (const e of entries) out(json ? JSON.stringify(e) : formatEntry(e));
  };

  const audit = program.command('audit').description('read and check the audit log');

  audit
    .command('verify')
    .description('check the hash chain and the signed checkpoints; exit 1 naming the first bad entry')
    .option('--jsonl', 'check the local JSON-lines copy (data dir audit/audit.jsonl) instead of the database')
    .option(
      '--trusted-key <file>',
      'also accept checkpoints signed by this public key (after a key rotation)',
      collect,
      [],
    )
    .option('--json', 'print the result as JSON')
    .action(async (opts: { jsonl?: boolean; json?: boolean; trustedKey: string[] }) => {
      await withStore(async ({ store, dataDir }) => {
        const trustedPublicKeysPem = await trustedKeys(dataDir, opts.trustedKey);
        if (!trustedPublicKeysPem)
          err('warning: no relay public key found; checkpoints are checked against the key they carry');
        let result: VerifyResult;
        const what = opts.jsonl ? 'audit JSON-lines copy' : 'audit log';
        if (opts.jsonl) {
          const path = auditJsonlPath(dataDir);
          const checkpoints = await store.audit.checkpoints();
          result = await verifyJsonl(path, {
            checkpoints,
            trustedPublicKeysPem,
            maxUnsigned: MAX_UNSIGNED_ENTRIES,
          }).catch((e: NodeJS.ErrnoException) => {
            if (e.code === 'ENOENT')
              throw new Error(`${path} does not exist (the relay writes it when it runs)`, { cause: e });
            throw e;
          });
        } else result = await verifyStore(store.audit, { trustedPublicKeysPem, maxUnsigned: MAX_UNSIGNED_ENTRIES });
        if (opts.json) out(JSON.stringify(result));
        if (!result.ok) throw new AuditBrokenError(result);
        if (!opts.json)
          out(
            `${what} intact: ${result.entries} entries` +
              (result.entries > 0 ? ` (last #${result.lastSeq} ${result.lastHash.slice(0, 16)}…)` : '') +
              `, ${result.checkpointsVerified} signed checkpoint${result.checkpointsVerified === 1 ? '' : 's'} verified` +
              (result.unsigned > 0
                ? `; the last ${result.unsigned} not signed yet (the relay signs every 100 entries or minute)`
                : ''),
          );
      });
    });

  audit
    .command('tail')
    .description('show the latest entries')
    .option('-n, --lines <n>', 'how many', parseCount, 20)
    .option('-f, --follow', 'keep printing new entries until interrupted')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { lines: number; follow?: boolean; json?: boolean }) => {
      await withStore(async ({ store }) => {
        const latest = (await store.audit.query({ descending: true, limit: opts.lines })).reverse();
        print(latest, opts.json);
        if (!opts.follow) return;
        let after = latest.at(-1)?.seq ?? (await store.audit.last())?.seq ?? 0;
        await follow(io, async () => {
          for (;;) {
            const page = await store.audit.range(after, 500);
            print(page, opts.json);
            if (page.length === 0) return;
            after = page.at(-1)!.seq;
          }
        });
      });
    });

  audit
    .command('query')
    .description('search entries; shows the newest matches, oldest first')
    .option('--type <type>', 'event type, e.g. login.failure')
    .option('--actor <actor>', 'e.g. user:alice, device:<id>, cli:root')
    .option('--sid <sid>', 'session id')
    .option('--since <time>', 'from this time (ISO-8601, or an age such as 2h, 7d)', (v) => parseTime(v))
    .option('--until <time>', 'up to this time (same forms)', (v) => parseTime(v))
    .option('--limit <n>', `at most this many (1–${MAX_LIMIT})`, parseCount, 100)
    .option('--json', 'one JSON object per line')
    .action(
      async (
        opts: {
          type?: string;
          actor?: string;
          sid?: string;
          since?: string;
          until?: string;
          limit: number;
          json?: boolean;
        },
        cmd: Command,
      ) => {
        if (opts.since && opts.until && opts.since > opts.until)
          cmd.error('error: --since is later than --until', { exitCode: 2, code: 'airlock.audit.badRange' });
        await withStore(async ({ store }) => {
          const q: AuditQuery = { descending: true, limit: opts.limit };
          for (const k of ['type', 'actor', 'sid', 'since', 'until'] as const)
            if (opts[k] !== undefined) q[k] = opts[k];
          const found = (await store.audit.query(q)).reverse();
          print(found, opts.json);
          if (found.length === opts.limit)
            err(`(showing the newest ${opts.limit}; narrow with --since/--until or raise --limit)`);
          else if (found.length === 0 && !opts.json) err('no matching entries');
        });
      },
    );

  return audit;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function follow(io: AuditCommandIo, poll: () => Promise<void>): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  if (io.signal) io.signal.addEventListener('abort', onSignal, { once: true });
  else {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  try {
    while (!stop.signal.aborted && !io.signal?.aborted) {
      await poll();
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, io.followPollMs ?? 1000);
        function done() {
          clearTimeout(t);
          stop.signal.removeEventListener('abort', done);
          resolve();
        }
        stop.signal.addEventListener('abort', done);
      });
    }
  } finally {
    io.signal?.removeEventListener('abort', onSignal);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
