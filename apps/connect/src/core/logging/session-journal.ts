import * as z from 'zod';
import { lastLines, RotatingFile } from './rotating-file.js';
import { lazySchema } from '@airlock/shared';

/**
 * One line of `sessions.jsonl`: a session to a VM started (its ticket was issued) or ended, and
 * how. Helpdesk asks for a session id; the support bundle carries the recent ones with their
 * outcomes, and `airlock-relay session show <sid>` tells the relay's side of each.
 */
export const SessionJournalLine = lazySchema(() =>
  z.discriminatedUnion('event', [
    z.object({
      event: z.literal('start'),
      sid: z.string(),
      vm: z.string(),
      at: z.string(),
      /** Which command or app feature opened it: `shell`, `forward`, `doctor`… */
      purpose: z.string().optional(),
      pid: z.number().int(),
    }),
    z.object({
      event: z.literal('end'),
      sid: z.string(),
      vm: z.string(),
      at: z.string(),
      /** `closed`: ended by Connect (the command finished); `failed`: never opened, or broke. */
      outcome: z.enum(['closed', 'failed']),
      /** The failure's code (`agent_unavailable`, `revoked`, `session_closed`…). */
      code: z.string().optional(),
      reason: z.string(),
      pid: z.number().int(),
    }),
  ]),
);
export type SessionJournalLine = z.infer<typeof SessionJournalLine>;

/** A session as the journal tells it: start and end joined by id. */
export interface SessionOutcome {
  sid: string;
  vm: string;
  purpose?: string;
  startedAt?: string;
  endedAt?: string;
  /** `open`: started and not ended (still running, or Connect was killed). */
  outcome: 'closed' | 'failed' | 'open';
  code?: string;
  reason?: string;
}

export interface SessionJournal {
  started(sid: string, vm: string, purpose?: string): void;
  ended(sid: string, vm: string, end: { outcome: 'closed' | 'failed'; code?: string; reason: string }): void;
}

/** For code that records nowhere (tests, a front end without a log folder). */
export const noSessionJournal: SessionJournal = { started: () => {}, ended: () => {} };

export const SESSION_JOURNAL = { name: 'sessions', ext: '.jsonl', maxBytes: 256 * 1024, files: 2 } as const;

/** The journal in `folder` (the log folder): two files of 256 KiB, a few thousand sessions. */
export class FileSessionJournal implements SessionJournal {
  private readonly file: RotatingFile;

  constructor(
    readonly folder: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.file = new RotatingFile({ folder, ...SESSION_JOURNAL });
  }

  started(sid: string, vm: string, purpose?: string): void {
    this.append({
      event: 'start',
      sid,
      vm,
      at: this.now().toISOString(),
      ...(purpose ? { purpose } : {}),
      pid: process.pid,
    });
  }

  ended(sid: string, vm: string, end: { outcome: 'closed' | 'failed'; code?: string; reason: string }): void {
    this.append({ event: 'end', sid, vm, at: this.now().toISOString(), ...end, pid: process.pid });
  }

  /** The most recent `count` sessions, newest first. */
  recent(count: number): SessionOutcome[] {
    return recentSessions(this.file.existingPaths(), count);
  }

  private append(line: SessionJournalLine): void {
    this.file.write(JSON.stringify(line));
  }
}

/** Joins start and end lines by session id; lines that do not parse are skipped. */
export function recentSessions(paths: readonly string[], count: number): SessionOutcome[] {
  const byId = new Map<string, SessionOutcome>();
  for (const raw of lastLines(paths, count * 2 + 50)) {
    const parsed = SessionJournalLine.safeParse(safeJson(raw));
    if (!parsed.success) continue;
    const line = parsed.data;
    // Re-inserting moves the session to the end: the map's order is the order of last activity.
    const known = byId.get(line.sid);
    byId.delete(line.sid);
    const base: SessionOutcome = known ?? { sid: line.sid, vm: line.vm, outcome: 'open' };
    if (line.event === 'start')
      byId.set(line.sid, {
        ...base,
        startedAt: line.at,
        ...(line.purpose ? { purpose: line.purpose } : {}),
      });
    else
      byId.set(line.sid, {
        ...base,
        endedAt: line.at,
        outcome: line.outcome,
        reason: line.reason,
        ...(line.code ? { code: line.code } : {}),
      });
  }
  return [...byId.values()].reverse().slice(0, count);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
