import type { Result } from '@airlock/shared';
import { ConfigStore } from '../../core/identity/config-store.js';
import type { SecretCache } from '../../core/identity/secret-cache.js';
import { UserKeyStore } from '../../core/identity/user-key-store.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import { LoginService } from '../../core/login/login-service.js';
import type { ConnectError } from '../../core/next-action.js';
import { airlockPaths } from '../../core/paths.js';
import type { RelayFetch } from '../../core/relay/relay-http.js';
import type { VmSession } from '../../core/session/types.js';
import { openVmSession } from '../../core/session/vm-session.js';
import type { ApiEvent, ApiParams, ApiRequestName, ApiResponse, ApiResult } from '../contract/index.js';
import { EnrollmentHandlers } from './enrollment-handlers.js';
import { EventHub } from './event-hub.js';
import { done } from './failures.js';
import { ForwardHandlers } from './forward-handlers.js';
import { LoginHandlers } from './login-handlers.js';
import { nodePlatform, type Platform } from './platform.js';
import { launchRdp } from './rdp.js';
import type { ServiceContext } from './service-context.js';
import { SettingsHandlers, type AppVersions } from './settings-handlers.js';
import { runDoctor } from '../../core/diagnostics/doctor.js';
import { FileSessionJournal, noSessionJournal } from '../../core/logging/session-journal.js';
import connectPackage from '../../../package.json' with { type: 'json' };
import { TerminalHandlers } from './terminal-handlers.js';
import { VmHandlers } from './vm-handlers.js';

export interface ConnectServiceOptions {
  /** AIRLOCK_HOME. */
  home: string;
  /** Where the unlock key may be remembered for a user (keytar in browser mode, safeStorage in Electron). */
  secretCacheFor: (home: string, user: string | undefined) => SecretCache;
  log?: Logger;
  platform?: Platform;
  /** Where the app's log file is, for Settings (null: stderr only). */
  logFolder?: string | null;
  versions?: AppVersions;
  /** How often the relay is asked for VM state while the UI watches (the relay has no push). */
  vmPollMs?: number;
  /** For tests. */
  fetch?: RelayFetch;
}

type Handlers = {
  [N in ApiRequestName]: (params: ApiParams<N>) => Promise<ApiResponse<ApiResult<N>>>;
};

/**
 * The Connect API, implemented once over core for every front end: Electron's main process and
 * the browser-mode host both pass requests to `handlers` (after checking them against the
 * contract's schemas, dispatch.ts) and forward `onEvent` to the UI.
 */
export class ConnectService {
  readonly handlers: Handlers;
  private readonly ctx: ServiceContext;
  private readonly events = new EventHub();
  private readonly terminals: TerminalHandlers;
  private readonly forwards: ForwardHandlers;
  private readonly enrollment: EnrollmentHandlers;
  private readonly loginHandlers: LoginHandlers;
  private readonly vms: VmHandlers;

  constructor(options: ConnectServiceOptions) {
    const paths = airlockPaths(options.home);
    const store = new ConfigStore(paths);
    const log = options.log ?? silentLogger;
    // A new login, when core needs one, is asked of the UI (LoginHandlers).
    const login = new LoginService({ store, log, relogin: (needed) => this.loginHandlers.relogin(needed) });
    this.ctx = {
      paths,
      store,
      keys: new UserKeyStore(paths),
      login,
      events: this.events,
      log,
      platform: options.platform ?? nodePlatform(),
      secretCacheFor: (user) => options.secretCacheFor(paths.home, user),
      openSession: (vm) => this.openSession(vm, options.fetch),
      journal: options.logFolder ? new FileSessionJournal(options.logFolder) : noSessionJournal,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    };
    this.loginHandlers = new LoginHandlers(this.ctx);
    this.enrollment = new EnrollmentHandlers(this.ctx);
    this.vms = new VmHandlers(this.ctx, options.vmPollMs ?? 5000);
    this.terminals = new TerminalHandlers(this.ctx);
    this.forwards = new ForwardHandlers(this.ctx);
    const settings = new SettingsHandlers(this.ctx, {
      logFolder: options.logFolder ?? null,
      versions: options.versions ?? {},
    });
    const l = this.loginHandlers;
    this.handlers = {
      'app.state': async () => {
        const state = await login.state();
        if (state.state === 'logged_in') void this.vms.prefetch();
        return done({ login: state });
      },
      'settings.get': () => settings.get(),
      'settings.setLogLevel': (p) => settings.setLogLevel(p),
      'keychain.forget': () => settings.forgetKeychain(),
      'enroll.start': (p) => this.enrollment.start(p),
      'enroll.setPassword': (p) => this.enrollment.setPassword(p),
      'enroll.confirm': (p) => this.enrollment.confirm(p),
      'enroll.cancel': (p) => this.enrollment.cancel(p),
      'login.state': () => l.state(),
      'login.submit': (p) => l.submit(p),
      'login.cancel': () => l.cancel(),
      // Logging out ends what the login opened: a forward left listening, or a shell left running,
      // with nobody logged in is access the person thinks they gave up (README, Desktop app).
      'login.logout': async () => {
        await Promise.all([this.terminals.closeAll(), this.forwards.removeAll()]);
        return l.logout();
      },
      'vms.list': () => this.vms.list(),
      'vms.watch': () => this.vms.watch(),
      'vms.unwatch': () => this.vms.unwatch(),
      'terminal.open': (p) => this.terminals.open(p),
      'terminal.input': (p) => this.terminals.input(p),
      'terminal.resize': (p) => this.terminals.resize(p),
      'terminal.ack': (p) => this.terminals.ack(p),
      'terminal.close': (p) => this.terminals.close(p),
      'forward.add': (p) => this.forwards.add(p),
      'forward.remove': (p) => this.forwards.remove(p),
      'forward.list': () => this.forwards.list(),
      'rdp.launch': (p) => launchRdp(this.ctx, this.forwards, p),
      // Never asks for a login: the report says when one is needed.
      'doctor.run': async (p) =>
        done(
          await runDoctor({
            paths,
            secretCache: this.ctx.secretCacheFor,
            ...p,
            journal: this.ctx.journal,
            log,
            versions: { connect: connectPackage.version },
            ...(options.fetch ? { fetch: options.fetch } : {}),
          }),
        ),
    };
  }

  /**
   * Starts, before any window asks, what the first screen will ask for: with a valid saved login,
   * the VM list (the relay's round trip then runs while the window loads its page). It never asks
   * for a login — no window may be there yet to hear the prompt — and never fails: a list that
   * could not be had is asked for again by the first watch. Resolves when that work is done.
   */
  async warmUp(): Promise<void> {
    const state = await this.ctx.login.state().catch(() => undefined);
    if (state?.state === 'logged_in') await this.vms.prefetch({ askToLogIn: false });
  }

  get log(): Logger {
    return this.ctx.log;
  }

  onEvent(listener: (e: ApiEvent) => void): () => void {
    return this.events.on(listener);
  }

  private openSession(vm: string, fetch: RelayFetch | undefined): Promise<Result<VmSession, ConnectError>> {
    return this.ctx.login.withLogin((credentials) =>
      openVmSession({
        credentials,
        vm,
        logger: this.ctx.log,
        journal: this.ctx.journal,
        purpose: 'app',
        ...(fetch ? { fetch } : {}),
      }),
    );
  }

  /** Ends everything: terminals, forwards, enrollments in progress (undone), a waiting re-login. */
  async close(): Promise<void> {
    this.vms.close();
    this.loginHandlers.close();
    await Promise.all([this.terminals.closeAll(), this.forwards.closeAll(), this.enrollment.close()]);
  }
}
