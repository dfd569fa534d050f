import type { CliContext } from './context.js';

/**
 * The line a command that talks to the relay prints on stderr when this device pinned no
 * organisation root (enrolled with a `u1` code): then the relay alone vouches for VMs' host keys
 * and users' keys, and whoever controls it could sit in the middle. Stderr only — scripts parse
 * stdout, `--json` included.
 */
export const RELAY_ONLY_NOTICE =
  'airlock: warning: no organisation root pinned (u1 enrollment): whoever controls the relay could read your sessions — ask your admin for a u2 code';

/** Setting this to 1 silences the line (the log file still records it). */
export const QUIET_TRUST_ENV = 'AIRLOCK_QUIET_TRUST';

let said = false;

/**
 * Says it once per process (as OpenSSH warns once per command), and only for an enrolled device
 * without a root; a pinned root, no enrollment or an unreadable config say nothing here (the
 * command itself reports those).
 */
export async function noticeRelayOnlyTrust(
  ctx: Pick<CliContext, 'store' | 'log'>,
  env: NodeJS.ProcessEnv = process.env,
  write: (line: string) => void = (l) => process.stderr.write(l),
): Promise<boolean> {
  if (said) return false;
  let config;
  try {
    config = await ctx.store.readConfig();
  } catch {
    return false;
  }
  if (!config.relayUrl || !config.user || config.org) return false;
  said = true;
  const quiet = env[QUIET_TRUST_ENV] === '1';
  ctx.log.warn({ trust: 'relay-only', quiet }, 'this device pinned no organisation root: the relay is trusted');
  if (!quiet) write(`${RELAY_ONLY_NOTICE}\n`);
  return !quiet;
}
