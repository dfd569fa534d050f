import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';

/** The OS account that shells, exec and sftp run as. */
export interface OsUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /**
   * When set, children are started through `setpriv` so they get the user's uid, gid and
   * supplementary groups (node-pty's uid/gid switch keeps root's supplementary groups).
   */
  switchVia?: { setpriv: string };
}

const SETPRIV_CANDIDATES = ['/usr/bin/setpriv', '/bin/setpriv'];

function lookupPasswd(name: string): { uid: number; gid: number; home: string } | undefined {
  let line: string;
  try {
    line = execFileSync('getent', ['passwd', name], { encoding: 'utf8', timeout: 5000 }).trim();
  } catch {
    return undefined;
  }
  const f = line.split('\n')[0]?.split(':');
  if (!f || f.length < 7) return undefined;
  return { uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '/' };
}

/**
 * Resolves the configured OS user once at start. Without `osUser` children run as the agent's
 * own user. Switching to another user needs root; anything else is a configuration error.
 */
export function resolveOsUser(osUser: string | undefined): OsUser {
  const self = userInfo();
  const home = (h: string): string => (existsSync(h) && statSync(h).isDirectory() ? h : '/');
  if (!osUser || osUser === self.username) {
    return { name: self.username, uid: self.uid, gid: self.gid, home: home(self.homedir) };
  }
  const pw = lookupPasswd(osUser);
  if (!pw) throw new Error(`osUser: no such user "${osUser}" on this machine`);
  if (pw.uid === self.uid) return { name: osUser, uid: pw.uid, gid: pw.gid, home: home(pw.home) };
  if (self.uid !== 0)
    throw new Error(`osUser: running as "${osUser}" needs the agent to run as root (it runs as "${self.username}")`);
  const setpriv = SETPRIV_CANDIDATES.find((p) => existsSync(p));
  if (!setpriv) throw new Error('osUser: switching users needs setpriv (package util-linux)');
  return { name: osUser, uid: pw.uid, gid: pw.gid, home: home(pw.home), switchVia: { setpriv } };
}

/** The command line that runs `file args` as `user` (through setpriv when switching users). */
export function commandAs(user: OsUser, file: string, args: string[]): { file: string; args: string[] } {
  if (!user.switchVia) return { file, args };
  return {
    file: user.switchVia.setpriv,
    args: ['--reuid', String(user.uid), '--regid', String(user.gid), '--init-groups', '--', file, ...args],
  };
}

/** A clean environment for a user process: nothing from the agent's own environment leaks in. */
export function userEnv(
  user: OsUser,
  shell: string,
  extra: Record<string, string | undefined> = {},
): Record<string, string> {
  const path =
    user.uid === 0
      ? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
      : '/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games';
  const env: Record<string, string> = {
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    SHELL: shell,
    PATH: path,
    LANG: process.env.LANG ?? 'C.UTF-8',
  };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}
