import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let made: string | undefined;

/**
 * The shell test agents run: bash, with HOME in a directory of this test process. A login shell
 * sources ~/.profile and ~/.bashrc (bash also reads ~/.bashrc when its stdin is a socket, as for
 * `exec`), so with the machine's real HOME a test depends on whoever set up the machine: a
 * version manager's init there once waited 60 s on a stale lock and printed to stderr, failing
 * every shell test. A private HOME also keeps the tests' commands out of ~/.bash_history.
 * The agent itself still gives sessions the account's real home; only the tests wrap it.
 */
export function privateTestShell(): string {
  if (made) return made;
  const dir = mkdtempSync(join(tmpdir(), 'airlock-test-shell-'));
  const home = join(dir, 'home');
  mkdirSync(home, { mode: 0o700 });
  const script = join(dir, 'bash');
  // Single quotes: tmpdir() could hold spaces; it never holds a quote.
  writeFileSync(script, `#!/bin/sh\nHOME='${home}'\nexport HOME\nexec /bin/bash "$@"\n`);
  chmodSync(script, 0o755);
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  made = script;
  return script;
}
