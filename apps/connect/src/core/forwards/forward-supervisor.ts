import type { Result } from '@airlock/shared';
import type { ConnectError } from '../next-action.js';
import type { SessionClosedEvent, VmSession } from '../session/types.js';
import { ForwardManager, type ForwardEvent } from './forward-manager.js';

/** Failures a new session cannot fix: stop and say why instead of reconnecting. */
export const FINAL_FORWARD_FAILURES: ReadonlySet<string> = new Set([
  'revoked',
  'user_disabled',
  'host_key_mismatch',
  'relay_pin_mismatch',
  'vm_not_found',
  'auth_failed',
  'login_failed',
  'login_required',
  'config_unreadable',
  'certificate_required',
  'bad_relay_url',
  'not_enrolled',
]);

export const RECONNECT_BACKOFF_MS = [1_000, 2_000, 4_000, 8_000, 15_000, 30_000];

export type SupervisorEvent =
  | ForwardEvent
  /**
   * The session is gone and a new one is being opened. `attempt` 0: right after the loss
   * (`error` says why it was lost); n ≥ 1: the n-th try failed with `error`, the next in `retryInMs`.
   */
  | { type: 'reconnecting'; vm: string; attempt: number; retryInMs: number; error: ConnectError }
  | { type: 'reconnected'; vm: string; sessionId: string }
  /** For good: `error` when a failure no new session can fix ended it, none after stop(). */
  | { type: 'stopped'; vm: string; error?: ConnectError };

export interface ForwardSupervisorOptions {
  vm: string;
  /** A new session to `vm` (logging in again as the front end allows). */
  openSession: () => Promise<Result<VmSession, ConnectError>>;
  backoffMs?: readonly number[];
  /**
   * Resolves at the next login, or once `stopped` resolves (then it must let go of what it
   * watches). Given (the app, whose Log in button a person may use later), a session that could
   * not open for want of a login waits for one instead of ending the forwards; without it (the
   * CLI, which asked the person already), `login_required` is final.
   */
  nextLogin?: (stopped: Promise<unknown>) => Promise<void>;
}

/**
 * A VM's forwards kept alive: local listeners (ForwardManager, which keeps them while there is no
 * session) and a session under them that is replaced, with backoff, whenever it ends for a reason
 * a new session can fix — the agent restarted, the network dropped, the login expired. A
 * revocation or another final refusal stops everything.
 */
export class ForwardSupervisor {
  readonly manager: ForwardManager;
  /** Resolves once, when the supervisor has stopped: with the final error, or none after stop(). */
  readonly done: Promise<{ error?: ConnectError }>;
  private readonly listeners = new Set<(e: SupervisorEvent) => void>();
  private readonly backoffMs: readonly number[];
  private stopRequested: () => void = () => {};
  private readonly stopping: Promise<'stopped'>;
  private stoppedAlready = false;

  private constructor(
    private readonly options: ForwardSupervisorOptions,
    private currentSession: VmSession,
  ) {
    this.backoffMs = options.backoffMs ?? RECONNECT_BACKOFF_MS;
    this.manager = new ForwardManager(currentSession, { keepListeners: true });
    this.manager.onEvent((e) => this.emit(e));
    this.stopping = new Promise((resolve) => (this.stopRequested = () => resolve('stopped')));
    this.done = this.supervise();
  }

  /** Opens the first session; nothing listens until `add`. */
  static async start(options: ForwardSupervisorOptions): Promise<Result<ForwardSupervisor, ConnectError>> {
    const first = await options.openSession();
    if (!first.ok) return first;
    return { ok: true, value: new ForwardSupervisor(options, first.value) };
  }

  get vm(): string {
    return this.options.vm;
  }

  get session(): VmSession {
    return this.currentSession;
  }

  onEvent(listener: (e: SupervisorEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: SupervisorEvent): void {
    for (const l of [...this.listeners]) l(e);
  }

  /** Stops reconnecting, closes every listener (resetting open connections) and the session. */
  async stop(): Promise<void> {
    this.stopRequested();
    await this.done;
  }

  private async supervise(): Promise<{ error?: ConnectError }> {
    let outcome: { error?: ConnectError } = {};
    try {
      for (;;) {
        const ended = await Promise.race([closedEvent(this.currentSession), this.stopping]);
        if (ended === 'stopped' || !ended.error) break;
        if (FINAL_FORWARD_FAILURES.has(ended.error.code)) {
          outcome = { error: ended.error };
          break;
        }
        this.emit({ type: 'reconnecting', vm: this.vm, attempt: 0, retryInMs: 0, error: ended.error });
        const next = await this.reopen();
        if (next === 'stopped') break;
        if (!next.ok) {
          outcome = { error: next.error };
          break;
        }
        this.currentSession = next.value;
        this.manager.replaceSession(next.value);
        this.emit({ type: 'reconnected', vm: this.vm, sessionId: next.value.sessionId });
      }
    } finally {
      this.stoppedAlready = true;
      await this.manager.close();
      await this.currentSession.close();
    }
    this.emit({ type: 'stopped', vm: this.vm, ...outcome });
    return outcome;
  }

  /** A new session, trying again with backoff while the failure is one time may fix. */
  private async reopen(): Promise<Result<VmSession, ConnectError> | 'stopped'> {
    for (let attempt = 1; ; attempt++) {
      const opening = this.options.openSession();
      const opened = await Promise.race([opening, this.stopping]);
      if (opened === 'stopped') {
        // A session that opens after all is not wanted any more.
        void opening.then((r) => {
          if (r.ok) void r.value.close();
        });
        return 'stopped';
      }
      if (!opened.ok && opened.error.code === 'login_required' && this.options.nextLogin) {
        this.emit({ type: 'reconnecting', vm: this.vm, attempt, retryInMs: 0, error: opened.error });
        const loggedIn = await Promise.race([this.options.nextLogin(this.stopping), this.stopping]);
        if (loggedIn === 'stopped') return 'stopped';
        continue;
      }
      if (opened.ok || FINAL_FORWARD_FAILURES.has(opened.error.code)) return opened;
      const wait = this.backoffMs[Math.min(attempt - 1, this.backoffMs.length - 1)]!;
      this.emit({ type: 'reconnecting', vm: this.vm, attempt, retryInMs: wait, error: opened.error });
      let timer: NodeJS.Timeout | undefined;
      const slept = await Promise.race([
        new Promise<'slept'>((r) => (timer = setTimeout(() => r('slept'), wait))),
        this.stopping,
      ]);
      clearTimeout(timer);
      if (slept === 'stopped') return 'stopped';
    }
  }

  /** Whether stop() was asked or a final failure ended it. */
  get stopped(): boolean {
    return this.stoppedAlready;
  }
}

function closedEvent(session: VmSession): Promise<SessionClosedEvent> {
  return new Promise((resolve) => session.onClosed(resolve));
}
