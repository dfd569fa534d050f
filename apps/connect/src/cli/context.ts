import { err, type Result } from '@airlock/shared';
import { ConfigStore, enrollmentOf, type Enrollment } from '../core/identity/config-store.js';
import { createConnectLogger, LOG_LEVELS, type LogLevel, type Logger } from '../core/logger.js';
import { credentialsOf, type RelayCredentials } from '../core/login/login.js';
import { airlockHome, airlockPaths, type AirlockPaths } from '../core/paths.js';
import type { Prompter } from '../core/identity/prompter.js';
import { createPrompter, NoTerminalPrompter } from './prompters.js';
import { RelayClient } from '../core/relay/relay-client.js';
import type { RelayError } from '../core/relay/relay-error.js';
import { UserKeyStore } from '../core/identity/user-key-store.js';
import type { VmSession, VmSessionError } from '../core/session/types.js';
import { openVmSession } from '../core/session/vm-session.js';
import { loginInteractively } from './authenticate.js';
import { CliError, UsageError } from './errors.js';

export interface GlobalOptions {
  logLevel?: string;
  verbose?: boolean;
}

/** Relay answers that mean "log in again" rather than "you may not". */
const LOGIN_AGAIN = new Set(['token_expired', 'unauthenticated', 'certificate_mismatch', 'not_logged_in']);

/** Everything a command needs, built once from the environment (AIRLOCK_HOME, AIRLOCK_LOG_LEVEL). */
export class CliContext {
  readonly paths: AirlockPaths;
  readonly store: ConfigStore;
  readonly keys: UserKeyStore;
  readonly log: Logger;
  private prompterInstance: Prompter | undefined;

  constructor(
    options: GlobalOptions = {},
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.paths = airlockPaths(airlockHome(env));
    this.store = new ConfigStore(this.paths);
    this.keys = new UserKeyStore(this.paths);
    const wanted = options.verbose ? 'debug' : (options.logLevel ?? env.AIRLOCK_LOG_LEVEL ?? 'silent');
    const level = LOG_LEVELS.find((l) => l === wanted);
    if (!level) throw new UsageError(`unknown log level "${wanted}"`, `use one of ${LOG_LEVELS.join(', ')}`);
    this.log = createConnectLogger(level as LogLevel);
  }

  /** The terminal (or AIRLOCK_ASKPASS); without either, every prompt fails with what to do. */
  get prompter(): Prompter {
    return (this.prompterInstance ??= createPrompter(this.env));
  }

  /** Whether someone can be asked for the password and a code right now. */
  get canPrompt(): boolean {
    return !(this.prompter instanceof NoTerminalPrompter);
  }

  async readConfig() {
    try {
      return await this.store.readConfig();
    } catch (e) {
      throw new CliError((e as Error).message);
    }
  }

  /** This device's enrollment, or a clear error saying how to enroll. */
  async enrollment(): Promise<Enrollment> {
    const e = enrollmentOf(await this.readConfig(), this.paths.home);
    if (!e.ok) throw CliError.from(e.error);
    return e.value;
  }

  /**
   * The saved login, or — when it is missing or expired — a new one: asked inline on a terminal,
   * else the one-line "run `airlock login`" error (scripts and `sftp -D` cannot be asked).
   */
  async credentials(): Promise<RelayCredentials> {
    const enrollment = await this.enrollment();
    const saved = await this.store.accessToken(enrollment);
    if (saved.ok) return credentialsOf(enrollment, saved.value);
    return this.reauthenticate(enrollment, saved.error.code === 'token_expired' ? 'expired' : 'absent');
  }

  /** Logs in again, asking the person; refuses with the CLI's message when nobody can be asked. */
  async reauthenticate(enrollment: Enrollment, why: 'expired' | 'absent' | 'refused'): Promise<RelayCredentials> {
    const what =
      why === 'absent'
        ? `not logged in to ${enrollment.relayUrl}`
        : why === 'expired'
          ? 'your login expired'
          : 'the relay no longer accepts your login';
    if (!this.canPrompt) throw new CliError(what, 'run `airlock login`');
    this.prompter.info(`${what}; log in to continue`);
    const session = await loginInteractively(this, enrollment, this.prompter);
    return credentialsOf(enrollment, session);
  }

  /**
   * Runs `call` with the login's credentials; when the relay says the token is no good any more
   * (expired early, clock skew, another machine's certificate), logs in again once and retries.
   */
  async withLogin<T, E extends RelayError | VmSessionError>(
    call: (credentials: RelayCredentials) => Promise<Result<T, E>>,
  ): Promise<Result<T, E>> {
    const first = await call(await this.credentials());
    if (first.ok || !LOGIN_AGAIN.has(first.error.code)) return first;
    this.log.debug({ code: first.error.code }, 'relay refused the saved login; logging in again');
    const retried = await this.reauthenticate(await this.enrollment(), 'refused').catch((e: unknown) => {
      if (e instanceof CliError && !this.canPrompt) return undefined;
      throw e;
    });
    if (!retried) return err(first.error);
    return call(retried);
  }

  /** GET /vms and friends: a pinned client presenting the login's certificate, closed afterwards. */
  async relayCall<T>(fn: (relay: RelayClient) => Promise<Result<T, RelayError>>): Promise<T> {
    const res = await this.withLogin(async (c) => {
      const relay = new RelayClient({ endpoint: c.endpoint, token: c.token });
      try {
        return await fn(relay);
      } finally {
        await relay.close();
      }
    });
    if (!res.ok) throw CliError.from(res.error);
    return res.value;
  }

  /** An end-to-end session to `vm` as a result (for callers that retry); re-logs in as needed. */
  openVmSession(vm: string): Promise<Result<VmSession, VmSessionError>> {
    return this.withLogin((credentials) => openVmSession({ credentials, vm, logger: this.log }));
  }

  /** Opens an end-to-end session to `vm`, runs `body`, and closes the session whatever happens. */
  async withVmSession<T>(vm: string, body: (session: VmSession) => Promise<T>): Promise<T> {
    const opened = await this.openVmSession(vm);
    if (!opened.ok) throw CliError.from(opened.error);
    const session = opened.value;
    try {
      return await body(session);
    } finally {
      await session.close();
    }
  }
}
