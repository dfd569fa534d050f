import * as z from 'zod';
import { readFileIfExists, writeFileAtomic } from '@airlock/shared';
import type { Logger } from 'pino';

/**
 * How the running agent tells `airlock-agent status` what only it knows (its control link,
 * its sessions): a small JSON file in its state dir, mode 0600, rewritten atomically whenever
 * something changes. A file rather than a socket: nothing listens, the reader needs no
 * protocol, and only the agent's own user (and root) can read it.
 */
export const STATUS_FILE = 'status.json';

export const LinkStatus = z.object({
  state: z.enum(['connecting', 'online', 'offline', 'closed']),
  /** When the link entered this state. */
  since: z.string(),
  /** The last reason the link went down, kept after it came back. */
  lastError: z.object({ reason: z.string(), at: z.string() }).optional(),
  /** While offline: when the next attempt is due. */
  nextAttemptAt: z.string().optional(),
});
export type LinkStatus = z.infer<typeof LinkStatus>;

export const SessionStatus = z.object({ sid: z.string(), user: z.string(), since: z.string() });
export type SessionStatus = z.infer<typeof SessionStatus>;

export const AgentStatusFile = z.object({
  pid: z.number().int().positive(),
  version: z.string(),
  startedAt: z.string(),
  updatedAt: z.string(),
  vm: z.string(),
  relayUrl: z.string(),
  hostKeyFingerprint: z.string(),
  policyPorts: z.array(z.number().int()),
  link: LinkStatus,
  sessions: z.array(SessionStatus),
});
export type AgentStatusFile = z.infer<typeof AgentStatusFile>;

/**
 * Keeps the status file current: changes are coalesced (at most one write in flight, the latest
 * state wins) so a burst of sessions costs a few writes, not one each. A write that fails is
 * logged once per kind of failure and never stops the agent.
 */
export class StatusFileWriter {
  private state: AgentStatusFile;
  private writing: Promise<void> | undefined;
  private dirty = false;
  private lastFailure: string | undefined;

  constructor(
    private readonly path: string,
    initial: Omit<AgentStatusFile, 'updatedAt'>,
    private readonly log: Logger,
  ) {
    this.state = { ...initial, updatedAt: new Date().toISOString() };
    this.schedule();
  }

  update(change: (s: AgentStatusFile) => AgentStatusFile): void {
    this.state = { ...change(this.state), updatedAt: new Date().toISOString() };
    this.schedule();
  }

  /** Resolves once what was last set is on disk. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private schedule(): void {
    this.dirty = true;
    this.writing ??= this.drain().finally(() => (this.writing = undefined));
  }

  private async drain(): Promise<void> {
    while (this.dirty) {
      this.dirty = false;
      try {
        await writeFileAtomic(this.path, `${JSON.stringify(this.state, null, 2)}\n`, 0o600);
        this.lastFailure = undefined;
      } catch (e) {
        const why = (e as NodeJS.ErrnoException).code ?? String(e);
        if (why !== this.lastFailure)
          this.log.warn(
            { path: this.path, error: why },
            'could not write the status file; airlock-agent status will not see this agent',
          );
        this.lastFailure = why;
      }
    }
  }
}

export type ReadStatusResult = { ok: true; status: AgentStatusFile | undefined } | { ok: false; message: string };

/** The status file, undefined when there is none; a damaged file is said, never trusted. */
export async function readStatusFile(path: string): Promise<ReadStatusResult> {
  let text: string | undefined;
  try {
    text = await readFileIfExists(path);
  } catch (e) {
    return { ok: false, message: `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})` };
  }
  if (text === undefined) return { ok: true, status: undefined };
  try {
    const parsed = AgentStatusFile.safeParse(JSON.parse(text));
    if (parsed.success) return { ok: true, status: parsed.data };
  } catch {
    // not JSON: said below
  }
  return { ok: false, message: `${path} is not a status file this agent version understands` };
}
