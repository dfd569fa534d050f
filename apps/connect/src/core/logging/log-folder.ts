import { homedir } from 'node:os';
import { join, resolve, win32 } from 'node:path';

/**
 * Where Connect writes its log files: `AIRLOCK_LOG_DIR` when set; else, when `AIRLOCK_HOME`
 * points Connect's files somewhere of its own (tests, scripts, `npm start`'s demo), `logs/` in
 * it, so one folder holds everything of that Connect; else the platform's usual place:
 * `$XDG_STATE_HOME/airlock/logs` (or `~/.local/state/airlock/logs`) on Linux and other Unixes,
 * `~/Library/Logs/Airlock` on macOS, `%LOCALAPPDATA%\Airlock\logs` on Windows.
 */
export function connectLogFolder(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  const explicit = env.AIRLOCK_LOG_DIR?.trim();
  if (explicit) return resolve(explicit);
  const airlockHome = env.AIRLOCK_HOME?.trim();
  if (airlockHome) return join(resolve(airlockHome), 'logs');
  return platformLogFolder(env, platform, home);
}

/** The platform's usual log folder for Airlock, ignoring the overrides. */
export function platformLogFolder(env: NodeJS.ProcessEnv, platform: NodeJS.Platform, home: string): string {
  if (platform === 'darwin') return join(home, 'Library', 'Logs', 'Airlock');
  if (platform === 'win32') {
    const local = env.LOCALAPPDATA?.trim() || win32.join(home, 'AppData', 'Local');
    return win32.join(local, 'Airlock', 'logs');
  }
  // XDG: a relative XDG_STATE_HOME is invalid and must be ignored.
  const state = env.XDG_STATE_HOME?.trim();
  const base = state && state.startsWith('/') ? state : join(home, '.local', 'state');
  return join(base, 'airlock', 'logs');
}
