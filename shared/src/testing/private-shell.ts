import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  // In the repo's ignored .test-tmp/, not /tmp: a script is run from here, and /tmp may be noexec.
  const root = fileURLToPath(new URL('../../../.test-tmp/', import.meta.url));
  mkdirSync(root, { recursive: true });
  const dir = mkdtempSync(join(root, 'shell-'));
  const home = join(dir, 'home');
  mkdirSync(home, { mode: 0o700 });
  const script = join(dir, 'bash');
  const quoted = `'${home.replaceAll("'", `'\\''`)}'`;
  writeFileSync(script, `#!/bin/sh\nHOME=${quoted}\nexport HOME\nexec /bin/bash "$@"\n`);
  chmodSync(script, 0o755);
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  made = script;
  return script;
}
