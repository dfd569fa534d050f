import './schema-mode.js'; // first: see the file
import { beforeBrokenPipeExit, err, ok, type Result } from '@airlock/shared';
import { ConfigStore, type Enrollment } from '../core/identity/config-store.js';
import type { Prompter } from '../core/identity/prompter.js';
import { UserKeyStore } from '../core/identity/user-key-store.js';
import { createConnectLogger, type Logger } from '../core/logger.js';
import { connectLogFolder } from '../core/logging/log-folder.js';
import { FileSessionJournal } from '../core/logging/session-journal.js';
import type { RelayCredentials } from '../core/login/login.js';
import { LoginService, type LoginError, type LoginNeeded } from '../core/login/login-service.js';
import { airlockHome, airlockPaths, type AirlockPaths } from '../core/paths.js';
import { RelayClient } from '../core/relay/relay-client.js';
import type { RelayError } from '../core/relay/relay-error.js';
import type { VmSession, VmSessionError } from '../core/session/types.js';
import { openVmSession } from '../core/session/vm-session.js';
import { loginInteractively } from './authenticate.js';
import { CliError } from './errors.js';
import { chosenLogLevel } from './log-level.js';
import { createPrompter, NoTerminalPrompter } from './prompters.js';
import { printConnectionNotices, writeNotice } from './connection-notices.js';

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
  /** Where Connect's log files and session journal go (connectLogFolder). */
  readonly logFolder: string;
  readonly journal: FileSessionJournal;
  /** The command being run, for the log and the session journal. */
  command = 'airlock';
  /**
   * The login's life (core). When a new login is needed it is asked inline on a terminal; else the
   * one-line "run `airlock login`" error (scripts and `sftp -D` cannot be asked).
   */
  readonly login: LoginService;
  private prompterInstance: Prompter | undefined;

  constructor(
    options: GlobalOptions = {},
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.paths = airlockPaths(airlockHome(env));
    this.store = new ConfigStore(this.paths);
    this.keys = new UserKeyStore(this.paths);
    const level = chosenLogLevel(options, env);
    this.logFolder = connectLogFolder(env);
    this.log = createConnectLogger({ stderrLevel: level, folder: this.logFolder }).log;
    this.journal = new FileSessionJournal(this.logFolder);
    this.login = new LoginService({ store: this.store, log: this.log, relogin: (needed) => this.relogin(needed) });
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
    const e = await this.login.enrollment();
    if (!e.ok) throw CliError.from(e.error);
    return e.value;
  }

  /** Logs in again, asking the person; `login_required` when nobody can be asked. */
  private async relogin(needed: LoginNeeded) {
    if (!this.canPrompt)
      return err({ code: 'login_required' as const, reason: needed.reason, message: needed.message });
    this.prompter.info(`${needed.message}; log in to continue`);
    return ok(
      await loginInteractively(
        { home: this.paths.home, keys: this.keys, store: this.store },
        needed.enrollment,
        this.prompter,
      ),
    );
  }

  /** Runs `call` with the login's credentials, logging in again once if the relay asks for it. */
  withLogin<T, E extends RelayError | VmSessionError>(
    call: (credentials: RelayCredentials) => Promise<Result<T, E>>,
  ): Promise<Result<T, E | LoginError>> {
    return this.login.withLogin(call);
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
  async openVmSession(vm: string): Promise<Result<VmSession, VmSessionError | LoginError>> {
    const windowMs = resumeWindowFromEnv(process.env);
    const opened = await this.withLogin((credentials) =>
      openVmSession({
        credentials,
        vm,
        logger: this.log,
        journal: this.journal,
        purpose: this.command,
        ...(windowMs !== undefined ? { resume: windowMs === 0 ? (false as const) : { windowMs } } : {}),
      }),
    );
    if (opened.ok) printConnectionNotices(opened.value, writeNotice);
    return opened;
  }

  /** Opens an end-to-end session to `vm`, runs `body`, and closes the session whatever happens. */
  async withVmSession<T>(vm: string, body: (session: VmSession) => Promise<T>): Promise<T> {
    const opened = await this.openVmSession(vm);
    if (!opened.ok) throw CliError.from(opened.error);
    const session = opened.value;
    // The reader of our output went away (`airlock exec vm -- tail -f log | grep -m1 x`): the
    // session is closed, not dropped, so the agent ends the remote command now.
    const forget = beforeBrokenPipeExit(() => session.close());
    try {
      return await body(session);
    } finally {
      forget();
      await session.close();
    }
  }
}

/**
 * `AIRLOCK_RESUME_WINDOW_SECONDS`: how long a session whose connection dropped keeps trying to
 * resume (default 180 s; `0` turns resume off). Ignored when not a whole number.
 */
export function resumeWindowFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env.AIRLOCK_RESUME_WINDOW_SECONDS;
  if (raw === undefined || !/^\d{1,6}$/.test(raw.trim())) return undefined;
  return Number(raw.trim()) * 1000;
}
