import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@airlock/shared';

/**
 * What the relay serving this data dir says about itself (not secret): its process, the URL it
 * listens on, the public URL and certificate codes must name. It describes a running relay only
 * while that relay holds the data dir's lock (`dataDirInUse`); afterwards it says where the
 * relay last served.
 */
export const SERVED_AT_FILE = 'served-at.json';

export interface ServedAt {
  publicUrl?: string;
  tlsCertFile?: string;
  pid?: number;
  /** Where it listens (`https://host:port`). */
  url?: string;
  startedAt?: string;
}

export async function writeServedAt(
  dataDir: string,
  served: Required<Omit<ServedAt, 'tlsCertFile'>> & ServedAt,
): Promise<void> {
  await writeFileAtomic(join(dataDir, SERVED_AT_FILE), JSON.stringify(served, null, 2) + '\n', 0o644);
}

/** What the last relay started on this data dir said about itself, if anything readable. */
export function readServedAt(dataDir: string): ServedAt {
  try {
    const parsed = JSON.parse(readFileSync(join(dataDir, SERVED_AT_FILE), 'utf8')) as Record<string, unknown>;
    const text = (k: string) => (typeof parsed[k] === 'string' ? { [k]: parsed[k] } : {});
    return {
      ...text('publicUrl'),
      ...text('tlsCertFile'),
      ...text('url'),
      ...text('startedAt'),
      ...(Number.isSafeInteger(parsed.pid) && (parsed.pid as number) > 0 ? { pid: parsed.pid as number } : {}),
    };
  } catch {
    return {};
  }
}
