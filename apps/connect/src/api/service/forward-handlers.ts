import { randomUUID } from 'node:crypto';
import type { Result } from '@airlock/shared';
import { BurstNotices } from '../../core/forwards/burst-notices.js';
import type { Forward } from '../../core/forwards/forward-manager.js';
import { ForwardSupervisor, type SupervisorEvent } from '../../core/forwards/forward-supervisor.js';
import type { ConnectError } from '../../core/next-action.js';
import {
  portView,
  type ApiFailure,
  type ApiParams,
  type ApiResponse,
  type ApiResult,
  type ForwardView,
} from '../contract/index.js';
import { done, failedWith, failureOf, unknownHandle } from './failures.js';
import type { ServiceContext } from './service-context.js';

interface ForwardEntry {
  forwardId: string;
  vm: string;
  remotePort: number;
  localPort: number;
  state: ForwardView['state'];
  failure?: ApiFailure;
  /** What the UI was last told, to send `forward.changed` only on a change. */
  told: string;
}

/** How often traffic counters may produce a `forward.changed`. */
const STATS_EVERY_MS = 1000;

/**
 * Forwards per VM, like `airlock forward`: all of a VM's forwards share one session, kept by core's
 * ForwardSupervisor — they survive a session drop (reconnecting, then listening again on the same
 * local ports) and stop on a revocation. State, connections and bytes reach the UI as events.
 */
export class ForwardHandlers {
  /** Per VM: its supervisor, once started (or while starting). */
  private readonly supervisors = new Map<string, Promise<Result<ForwardSupervisor, ConnectError>>>();
  private readonly live = new Map<string, ForwardSupervisor>();
  private readonly forwards = new Map<string, ForwardEntry>();
  /** Forwards `ensure` is adding, by VM and remote port: what a second call at once waits for. */
  private readonly ensuring = new Map<string, Promise<ApiResponse<ForwardView>>>();
  private readonly notices: BurstNotices<{ forwardId: string; failure: ApiFailure; more: number }>;
  private statsTimer: NodeJS.Timeout | undefined;

  constructor(private readonly ctx: ServiceContext) {
    this.notices = new BurstNotices((n) => ctx.events.emit({ type: 'forward.connection-failed', ...n }));
  }

  async add(p: ApiParams<'forward.add'>): Promise<ApiResponse<ApiResult<'forward.add'>>> {
    const started = await this.supervisorFor(p.vm);
    if (!started.ok) return failedWith(started.error);
    const { manager } = started.value;
    const allowed = await manager.checkPort(p.remotePort);
    let added: Result<Forward, ConnectError> | undefined = allowed.ok ? undefined : allowed;
    const wanted = p.localPort ?? 0;
    // Automatic: the remote port's own number when it is free here, so bookmarks keep working.
    if (!added && wanted === 0 && p.remotePort >= 1024) {
      const same = await manager.add(p.remotePort, p.remotePort);
      if (same.ok || same.error.code !== 'local_port_in_use') added = same;
    }
    added ??= await manager.add(p.remotePort, wanted);
    if (!added.ok) {
      await this.stopIfUnused(p.vm);
      return failedWith(added.error);
    }
    const entry: ForwardEntry = {
      forwardId: `fwd-${randomUUID()}`,
      vm: p.vm,
      remotePort: p.remotePort,
      localPort: added.value.localPort,
      state: 'listening',
      told: '',
    };
    this.forwards.set(entry.forwardId, entry);
    this.statsTimer ??= setInterval(() => this.tellChanges(), STATS_EVERY_MS).unref();
    return done(this.tell(entry));
  }

  /**
   * The VM's forward to `remotePort` (RDP reuses one), added unless one is there. `created`: this call added it,
   * so a caller whose later step fails takes it away again (a second call that shared the adding
   * is told `created` too; the second removal then finds nothing, which is fine).
   */
  async ensure(
    vm: string,
    remotePort: number,
    localPort?: number,
  ): Promise<ApiResponse<ForwardView & { created: boolean }>> {
    for (const f of this.forwards.values())
      if (f.vm === vm && f.remotePort === remotePort && f.state !== 'stopped') {
        return done({ ...this.view(f), created: false });
      }
    // A second launch while the first is still adding (a double click) shares its forward.
    const key = `${vm}\0${remotePort}`;
    let adding = this.ensuring.get(key);
    if (!adding) {
      adding = this.add({ vm, remotePort, localPort }).finally(() => this.ensuring.delete(key));
      this.ensuring.set(key, adding);
    }
    const added = await adding;
    return added.ok ? done({ ...added.value, created: true }) : added;
  }

  async remove(p: ApiParams<'forward.remove'>): Promise<ApiResponse<ApiResult<'forward.remove'>>> {
    const entry = this.forwards.get(p.forwardId);
    if (!entry) return unknownHandle('forward', p.forwardId);
    this.forwards.delete(p.forwardId);
    // A stopped forward's listener is gone with its supervisor; its port may serve a newer one.
    if (entry.state !== 'stopped') await this.live.get(entry.vm)?.manager.remove(entry.localPort);
    await this.stopIfUnused(entry.vm);
    this.ctx.events.emit({ type: 'forward.removed', forwardId: p.forwardId });
    return done({});
  }

  async list(): Promise<ApiResponse<ApiResult<'forward.list'>>> {
    return done({ forwards: [...this.forwards.values()].map((f) => this.view(f)) });
  }

  private supervisorFor(vm: string): Promise<Result<ForwardSupervisor, ConnectError>> {
    let starting = this.supervisors.get(vm);
    if (!starting) {
      starting = ForwardSupervisor.start({
        vm,
        openSession: () => this.ctx.openSession(vm),
        nextLogin: (stopped) => this.nextLogin(stopped),
      }).then((r) => {
        if (!r.ok) this.supervisors.delete(vm);
        else {
          this.live.set(vm, r.value);
          r.value.onEvent((e) => this.onSupervisorEvent(vm, r.value, e));
        }
        return r;
      });
      this.supervisors.set(vm, starting);
    }
    return starting;
  }

  /** The next login made through this app, or `stopped`. */
  private nextLogin(stopped: Promise<unknown>): Promise<void> {
    return new Promise((resolve) => {
      const off = this.ctx.login.onChange((s) => {
        if (s.state === 'logged_in') done();
      });
      const done = () => (off(), resolve());
      void stopped.then(done);
    });
  }

  private async stopIfUnused(vm: string): Promise<void> {
    if ([...this.forwards.values()].some((f) => f.vm === vm && f.state !== 'stopped')) return;
    const starting = this.supervisors.get(vm);
    this.supervisors.delete(vm);
    this.live.delete(vm);
    const s = await starting;
    if (s?.ok) await s.value.stop();
    if (this.forwards.size === 0) {
      clearInterval(this.statsTimer);
      this.statsTimer = undefined;
    }
  }

  private onSupervisorEvent(vm: string, supervisor: ForwardSupervisor, e: SupervisorEvent): void {
    if (this.live.get(vm) !== supervisor) return;
    const ofVm = [...this.forwards.values()].filter((f) => f.vm === vm && f.state !== 'stopped');
    switch (e.type) {
      case 'reconnecting':
        for (const f of ofVm) Object.assign(f, { state: 'reconnecting', failure: failureOf(e.error) });
        break;
      case 'reconnected':
        for (const f of ofVm) Object.assign(f, { state: 'listening', failure: undefined });
        break;
      case 'stopped':
        for (const f of ofVm) Object.assign(f, { state: 'stopped', failure: e.error && failureOf(e.error) });
        this.live.delete(vm);
        this.supervisors.delete(vm);
        break;
      case 'connection-refused':
      case 'connection-closed': {
        const error = e.type === 'connection-refused' ? e.error : e.failure;
        const f = ofVm.find((x) => x.localPort === e.localPort);
        if (!error || !f) return;
        const failure = failureOf(error);
        this.notices.notice(`${f.forwardId} ${error.code}`, { forwardId: f.forwardId, failure, more: 0 }, (more) => ({
          forwardId: f.forwardId,
          failure,
          more,
        }));
        return;
      }
      default:
        return;
    }
    for (const f of ofVm) this.tell(f);
  }

  private view(f: ForwardEntry): ForwardView {
    const supervisor = f.state === 'stopped' ? undefined : this.live.get(f.vm);
    const stats = supervisor?.manager.stats(f.localPort) ?? { connections: 0, bytesIn: 0, bytesOut: 0 };
    const port = portView(f.remotePort);
    return {
      forwardId: f.forwardId,
      vm: f.vm,
      remotePort: f.remotePort,
      name: port.name,
      localPort: f.localPort,
      localAddress: `127.0.0.1:${f.localPort}`,
      url: port.web ? `http://127.0.0.1:${f.localPort}/` : null,
      state: f.state,
      sessionId: supervisor?.session.sessionId ?? '',
      ...stats,
      ...(f.failure ? { failure: f.failure } : {}),
    };
  }

  /** Sends `forward.changed` if the forward's view changed since the UI was last told. */
  private tell(f: ForwardEntry): ForwardView {
    const view = this.view(f);
    if (!this.forwards.has(f.forwardId)) return view;
    const text = JSON.stringify(view);
    if (text !== f.told) {
      f.told = text;
      this.ctx.events.emit({ type: 'forward.changed', forward: view });
    }
    return view;
  }

  private tellChanges(): void {
    for (const f of this.forwards.values()) this.tell(f);
  }

  /** Stops every forward (resetting its connections) and tells the UI each is gone: logging out. */
  async removeAll(): Promise<void> {
    const gone = [...this.forwards.keys()];
    await this.closeAll();
    for (const forwardId of gone) this.ctx.events.emit({ type: 'forward.removed', forwardId });
  }

  async closeAll(): Promise<void> {
    clearInterval(this.statsTimer);
    this.statsTimer = undefined;
    this.notices.flush();
    this.forwards.clear();
    const all = [...this.supervisors.values()];
    this.supervisors.clear();
    this.live.clear();
    await Promise.all(
      all.map(async (starting) => {
        const s = await starting;
        if (s.ok) await s.value.stop();
      }),
    );
  }
}
