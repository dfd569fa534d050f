import { ConfigStore, normalizeRelayUrl } from '../core/config-store.js';
import { createConnectLogger, LOG_LEVELS, type LogLevel, type Logger } from '../core/logger.js';
import { airlockHome, airlockPaths, type AirlockPaths } from '../core/paths.js';
import { UserKeyStore, type UserKey } from '../core/user-key-store.js';
import { openVmSession, type VmSession } from '../core/vm-session.js';
import { CliError, UsageError } from './errors.js';

export interface GlobalOptions {
  logLevel?: string;
  verbose?: boolean;
}

/** Everything a command needs, built once from the environment (AIRLOCK_HOME, AIRLOCK_LOG_LEVEL). */
export class CliContext {
  readonly paths: AirlockPaths;
  readonly store: ConfigStore;
  readonly keys: UserKeyStore;
  readonly log: Logger;

  constructor(options: GlobalOptions = {}, env: NodeJS.ProcessEnv = process.env) {
    this.paths = airlockPaths(airlockHome(env));
    this.store = new ConfigStore(this.paths);
    this.keys = new UserKeyStore(this.paths);
    const wanted = options.verbose ? 'debug' : (options.logLevel ?? env.AIRLOCK_LOG_LEVEL ?? 'silent');
    const level = LOG_LEVELS.find((l) => l === wanted);
    if (!level) throw new UsageError(`unknown log level "${wanted}"`, `use one of ${LOG_LEVELS.join(', ')}`);
    this.log = createConnectLogger(level as LogLevel);
  }

  /** The configured relay URL, or a clear error saying how to set one. */
  async relayUrl(): Promise<string> {
    const config = await this.readConfig();
    if (!config.relayUrl)
      throw new CliError('no relay configured', 'run `airlock login --relay <url> --user <name>` first');
    return normalizeRelayUrl(config.relayUrl);
  }

  async readConfig() {
    try {
      return await this.store.readConfig();
    } catch (e) {
      throw new CliError((e as Error).message);
    }
  }

  async userKey(): Promise<UserKey> {
    const key = await this.keys.load();
    if (!key.ok) throw CliError.from(key.error);
    return key.value;
  }

  /** Relay URL, user, token and key for commands that talk to the relay as the logged-in user. */
  async loggedIn(): Promise<{ relayUrl: string; user: string; token: string }> {
    const relayUrl = await this.relayUrl();
    const saved = await this.store.accessToken(relayUrl);
    if (!saved.ok) throw CliError.from(saved.error);
    return { relayUrl, user: saved.value.user, token: saved.value.accessToken };
  }

  /** Opens an end-to-end session to `vm`, runs `body`, and closes the session whatever happens. */
  async withVmSession<T>(vm: string, body: (session: VmSession) => Promise<T>): Promise<T> {
    const { relayUrl, user, token } = await this.loggedIn();
    const userKey = await this.userKey();
    const opened = await openVmSession({ relayUrl, token, vm, user, userKey, logger: this.log });
    if (!opened.ok) throw CliError.from(opened.error);
    const session = opened.value;
    try {
      return await body(session);
    } finally {
      await session.close();
    }
  }
}
