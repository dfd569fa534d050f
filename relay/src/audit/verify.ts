import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import * as z from 'zod';
import type { AuditCheckpoint, AuditEntry, AuditStore } from '../store/types.js';
import { GENESIS_HASH } from './chain.js';
import { checkpointSignatureProblem } from './checkpoints.js';
import { classifyBreak, entrySelfConsistent, type AuditProblem, type Link } from './verify-classify.js';

export type { AuditProblem } from './verify-classify.js';

export type VerifyResult =
  | {
      ok: true;
      entries: number;
      lastSeq: number;
      lastHash: string;
      checkpointsVerified: number;
      /** Entries after the last checkpoint that matched: nothing signed vouches for them yet. */
      unsigned: number;
    }
  /** `seq` is the first bad entry (for a JSON-lines file `line` says where it is). */
  | { ok: false; seq: number; problem: AuditProblem; message: string; line?: number };

export interface VerifyOptions {
  /** Checkpoints must be signed by one of these keys (SPKI PEM); without it, by the key they carry. */
  trustedPublicKeysPem?: string[];
  /**
   * More entries than this after the last checkpoint is a failure (`unsigned`). Checkpoints are
   * what a rewritten chain cannot forge: one deleted with them (renumbered, rehashed) reads as
   * intact. The relay signs one every 100 entries and every minute, so a longer unsigned tail
   * means checkpoints were removed (or the relay could not sign: its log says so).
   */
  maxUnsigned?: number;
}

/** `audit verify`'s bound: the relay's 100 entries per checkpoint, with room for entries written while one is signed. */
export const MAX_UNSIGNED_ENTRIES = 250;

/** One item of the walk: an entry (with its line in a file), or a line that is not an entry. */
export type VerifyItem = { entry: AuditEntry; line?: number } | { unreadable: string; line?: number };

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const EntryShape = z.object({
  seq: z.number().int().positive(),
  ts: z.string(),
  prevHash: Hex64,
  hash: Hex64,
  type: z.string(),
  actor: z.string(),
  outcome: z.enum(['success', 'failure', 'info']),
  sid: z.string().optional(),
  source: z.string().optional(),
  data: z.record(z.string(), z.unknown()),
});
const CheckpointShape = z.object({
  seq: z.number().int().positive(),
  hash: Hex64,
  ts: z.string(),
  signature: z.string(),
  publicKeyPem: z.string(),
});

/** How many entries past a break are read to tell a deletion from a reordering or an insertion. */
const LOOKAHEAD = 1000;
/** Hashes remembered for classification only (not for detection), so memory stays bounded. */
const RECENT = 4096;

/**
 * Walks the chain in the order given and names the FIRST bad entry: each hash is recomputed
 * (an edit breaks it), seq must go 1, 2, 3… and each prevHash must be the previous hash (a
 * deletion, insertion or reordering breaks that), and every signed checkpoint must match the
 * entry at its seq — a checkpoint past the last entry means the tail was cut off.
 */
export async function verifyAuditChain(
  entries: AsyncIterable<AuditEntry> | Iterable<AuditEntry>,
  checkpoints: AuditCheckpoint[],
  opts: VerifyOptions = {},
): Promise<VerifyResult> {
  return verifyItems(
    (async function* () {
      for await (const entry of entries) yield { entry };
    })(),
    checkpoints,
    opts,
  );
}

export async function verifyItems(
  items: AsyncIterable<VerifyItem>,
  checkpoints: AuditCheckpoint[],
  opts: VerifyOptions = {},
): Promise<VerifyResult> {
  const cps: AuditCheckpoint[] = [];
  for (const c of checkpoints) {
    const parsed = CheckpointShape.safeParse(c);
    if (!parsed.success)
      return fail(Number(c?.seq) || 0, 'bad_checkpoint', `the checkpoint for entry ${c?.seq} is malformed`);
    cps.push(parsed.data);
  }
  cps.sort((a, b) => a.seq - b.seq);
  let cpIdx = 0;
  let checkpointsVerified = 0;
  let lastMatchedCheckpoint = 0;

  const it = items[Symbol.asyncIterator]();
  let prev: Link = { seq: 0, hash: GENESIS_HASH };
  let prevPrevHash: string | undefined;
  const recent = new Map<string, number>();
  let count = 0;

  for (;;) {
    let next: IteratorResult<VerifyItem>;
    try {
      next = await it.next();
    } catch (e) {
      return fail(prev.seq + 1, 'edited', `entry ${prev.seq + 1} could not be read: ${(e as Error).message}`);
    }
    if (next.done) break;
    const item = next.value;
    const entry = 'entry' in item ? shapeOf(item.entry) : undefined;
    if (!entry) {
      const what = 'unreadable' in item ? item.unreadable : 'is not a well-formed audit entry';
      const where = item.line !== undefined ? `line ${item.line} ${what}` : `it ${what}`;
      return fail(prev.seq + 1, 'edited', `entry ${prev.seq + 1} was changed: ${where}`, item.line);
    }
    if (entry.seq === prev.seq + 1 && entry.prevHash === prev.hash && entrySelfConsistent(entry)) {
      prevPrevHash = prev.hash;
      prev = { seq: entry.seq, hash: entry.hash };
      count++;
      recent.set(entry.hash, entry.seq);
      if (recent.size > RECENT) recent.delete(recent.keys().next().value!);
      while (cpIdx < cps.length && cps[cpIdx]!.seq <= entry.seq) {
        const c = cps[cpIdx++]!;
        const sigProblem = checkpointSignatureProblem(c, opts.trustedPublicKeysPem);
        if (sigProblem)
          return fail(c.seq, 'bad_checkpoint', `the checkpoint for entry ${c.seq} (${c.ts}) is bad: ${sigProblem}`);
        if (c.hash !== entry.hash)
          return fail(
            c.seq,
            'edited',
            `entry ${c.seq} does not match the checkpoint signed at ${c.ts}: the log was rewritten at or before entry ${c.seq}` +
              (lastMatchedCheckpoint > 0
                ? ` (after entry ${lastMatchedCheckpoint}, the last checkpoint that matched)`
                : ' (no earlier checkpoint matched)'),
            item.line,
          );
        checkpointsVerified++;
        lastMatchedCheckpoint = c.seq;
      }
      continue;
    }
    const rest = await readAhead(it, LOOKAHEAD);
    const verdict = classifyBreak({ prev, prevPrevHash, recent }, entry, rest);
    // In a file the previous entry is the previous line.
    const line = item.line !== undefined && verdict.seq === prev.seq ? item.line - 1 : item.line;
    return fail(verdict.seq, verdict.problem, verdict.message, line);
  }

  if (cpIdx < cps.length) {
    const c = cps[cpIdx]!;
    const sigProblem = checkpointSignatureProblem(c, opts.trustedPublicKeysPem);
    if (sigProblem)
      return fail(c.seq, 'bad_checkpoint', `the checkpoint for entry ${c.seq} (${c.ts}) is bad: ${sigProblem}`);
    const missing = c.seq === prev.seq + 1 ? `entry ${c.seq} is` : `entries ${prev.seq + 1}–${c.seq} (at least) are`;
    return fail(
      prev.seq + 1,
      'truncated',
      `${missing} missing: the log ends at entry ${prev.seq} but a checkpoint signed at ${c.ts} covers entry ${c.seq}`,
    );
  }
  const unsigned = prev.seq - lastMatchedCheckpoint;
  if (opts.maxUnsigned !== undefined && unsigned > opts.maxUnsigned)
    return fail(
      lastMatchedCheckpoint + 1,
      'unsigned',
      `entries ${lastMatchedCheckpoint + 1}–${prev.seq} (${unsigned}) are covered by no signed checkpoint, though the relay ` +
        'signs one every 100 entries: checkpoints were removed, or the relay could not sign (see its log); a chain rewritten there could not be told from the original',
    );
  return { ok: true, entries: count, lastSeq: prev.seq, lastHash: prev.hash, checkpointsVerified, unsigned };
}

function fail(seq: number, problem: AuditProblem, message: string, line?: number): VerifyResult {
  return line === undefined ? { ok: false, seq, problem, message } : { ok: false, seq, problem, message, line };
}

function shapeOf(entry: unknown): AuditEntry | undefined {
  const parsed = EntryShape.safeParse(entry);
  return parsed.success ? (parsed.data as AuditEntry) : undefined;
}

async function readAhead(it: AsyncIterator<VerifyItem>, max: number): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  try {
    while (out.length < max) {
      const n = await it.next();
      if (n.done) break;
      const e = 'entry' in n.value ? shapeOf(n.value.entry) : undefined;
      if (!e) break;
      out.push(e);
    }
  } catch {
    // What was read is enough to classify; the read error itself comes after the first break.
  }
  await it.return?.();
  return out;
}

/** Verifies the store's chain against its checkpoints. */
export async function verifyStore(store: AuditStore, opts: VerifyOptions = {}): Promise<VerifyResult> {
  // Checkpoints first: read after the entries, one signed meanwhile would look like a cut-off tail.
  const checkpoints = await store.checkpoints();
  return verifyAuditChain(storeEntries(store), checkpoints, opts);
}

export async function* storeEntries(store: AuditStore, pageSize = 500): AsyncGenerator<AuditEntry> {
  let after = 0;
  for (;;) {
    const page = await store.range(after, pageSize);
    if (page.length === 0) return;
    yield* page;
    // Pages follow the last seq returned, so a seq moved backwards cannot loop forever.
    after = Math.max(after, page.at(-1)!.seq);
    if (page.length < pageSize) return;
  }
}

/**
 * Verifies the JSON-lines copy. A line that is not JSON, or not an entry, is reported with its
 * line number. Pass the store's checkpoints to check them against the copy as well.
 */
export async function verifyJsonl(
  path: string,
  opts: VerifyOptions & { checkpoints?: AuditCheckpoint[] } = {},
): Promise<VerifyResult> {
  await access(path); // a missing copy is an error for the caller, not an "entry 1" problem
  return verifyItems(jsonlItems(path), opts.checkpoints ?? [], opts);
}

async function* jsonlItems(path: string): AsyncGenerator<VerifyItem> {
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const text of lines) {
      n++;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        yield { unreadable: 'is not valid JSON', line: n };
        continue;
      }
      yield shapeOf(value) ? { entry: value as AuditEntry, line: n } : { unreadable: 'is not an audit entry', line: n };
    }
  } finally {
    lines.close();
  }
}
