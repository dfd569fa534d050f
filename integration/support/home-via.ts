import { chmodSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A copy of the CLI's home whose relay URL points at `proxyPort` (the pin is the relay's, unchanged). */
export function homeVia(home: string, proxyPort: number): string {
  const copy = mkdtempSync(join(tmpdir(), 'airlock-home-'));
  cpSync(home, copy, { recursive: true });
  chmodSync(copy, 0o700);
  for (const file of ['config.json', 'session.json']) {
    const path = join(copy, file);
    const json = JSON.parse(readFileSync(path, 'utf8')) as { relayUrl: string };
    json.relayUrl = `https://127.0.0.1:${proxyPort}`;
    writeFileSync(path, JSON.stringify(json), { mode: 0o600 });
  }
  return copy;
}
