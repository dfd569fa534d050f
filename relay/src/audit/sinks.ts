import { open } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import * as z from 'zod';
import type { AuditEntry } from '../store/types.js';
import { makeFolders } from '@airlock/shared';

/**
 * Where audit entries are pushed, one way. `deliver` resolves only once the sink has the whole
 * batch; it throws otherwise and the same batch (or a longer one from the same start) comes
 * again, so a sink must tolerate duplicates: delivery is at least once.
 */
export interface AuditSink {
  /** Stable name: the key of the delivery cursor in the store. Never contains credentials. */
  readonly name: string;
  deliver(entries: AuditEntry[], signal?: AbortSignal): Promise<void>;
}

export const HTTP_SINK_TIMEOUT_MS = 5000;

/** POSTs each batch as a JSON array; any 2xx is success. */
export class HttpSink implements AuditSink {
  readonly name: string;
  private readonly url: URL;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;

  constructor(url: string, opts: { headers?: Record<string, string>; name?: string; timeoutMs?: number } = {}) {
    this.url = new URL(url);
    if (this.url.protocol !== 'https:' && this.url.protocol !== 'http:')
      throw new Error(`audit sink URL must be http(s), got ${this.url.protocol}`);
    if (this.url.username || this.url.password)
      throw new Error('audit sink URL must not carry a user name or password: put credentials in headers');
    this.headers = opts.headers ?? {};
    this.timeoutMs = opts.timeoutMs ?? HTTP_SINK_TIMEOUT_MS;
    // Origin and path only: user info and query strings may carry credentials.
    this.name = opts.name ?? `http:${this.url.origin}${this.url.pathname}`;
  }

  async deliver(entries: AuditEntry[], signal?: AbortSignal): Promise<void> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { ...this.headers, 'content-type': 'application/json' },
      body: JSON.stringify(entries),
      // A redirect would resend the headers (often a bearer token) somewhere else.
      redirect: 'error',
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    // Drain the body so the connection can be reused.
    await res.arrayBuffer().catch(() => undefined);
    if (res.status < 200 || res.status > 299) throw new Error(`audit sink answered HTTP ${res.status}`);
  }
}

/**
 * Appends JSON lines to a file (another disk, a mount the log shipper reads). The file is
 * reopened for each batch so log rotation (rename, then a new file) is picked up; each batch
 * is fsynced before the cursor moves, so an acknowledged entry survives a power cut.
 * Syslog is not offered: a syslog daemon reading this file (imfile) covers it.
 */
export class FileSink implements AuditSink {
  readonly name: string;

  constructor(
    readonly path: string,
    opts: { name?: string } = {},
  ) {
    this.name = opts.name ?? `file:${path}`;
  }

  async deliver(entries: AuditEntry[]): Promise<void> {
    await makeFolders(dirname(this.path), 0o700);
    const fh = await open(this.path, 'a', 0o600);
    try {
      await fh.writeFile(entries.map((e) => JSON.stringify(e) + '\n').join(''), 'utf8');
      await fh.datasync();
    } finally {
      await fh.close();
    }
  }
}

const SinkName = z.string().min(1).max(200).optional();

/** One audit sink in the relay config. */
export const AuditSinkConfig = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('http'),
      url: z
        .url({ protocol: /^https?$/ })
        // fetch refuses such a URL, and its error (which the relay logs) quotes it whole.
        .refine((u) => !/^[a-z]+:\/\/[^/?#]*@/i.test(u), {
          message: 'must not carry a user name or password: put credentials in headers (e.g. "authorization")',
        }),
      /** e.g. `{ "authorization": "Bearer …" }`; never logged. */
      headers: z.record(z.string(), z.string()).optional(),
      /** Cursor key; defaults to the URL's origin and path. Changing it re-sends the whole log. */
      name: SinkName,
    })
    .strict(),
  z
    .object({
      type: z.literal('file'),
      /** Relative paths are taken from the relay data dir. */
      path: z.string().min(1),
      name: SinkName,
    })
    .strict(),
]);
export type AuditSinkConfig = z.infer<typeof AuditSinkConfig>;

export const AuditSinksConfig = z.array(AuditSinkConfig).default([]);
export type AuditSinksConfig = z.infer<typeof AuditSinksConfig>;

export function createSink(config: AuditSinkConfig, dataDir: string): AuditSink {
  if (config.type === 'http') return new HttpSink(config.url, { headers: config.headers, name: config.name });
  const path = isAbsolute(config.path) ? config.path : resolve(dataDir, config.path);
  return new FileSink(path, { name: config.name });
}

export function createSinks(configs: AuditSinkConfig[], dataDir: string): AuditSink[] {
  const sinks = configs.map((c) => createSink(c, dataDir));
  const names = new Set<string>();
  for (const s of sinks) {
    if (names.has(s.name)) throw new Error(`two audit sinks share the name "${s.name}"; give one a distinct name`);
    names.add(s.name);
  }
  return sinks;
}
