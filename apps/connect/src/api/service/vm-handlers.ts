import { ok } from '@airlock/shared';
import { certifyVmList, type CertifiedVm } from '../../core/org/vm-certificates.js';
import type { RelayCredentials } from '../../core/login/login.js';
import { RelayClient } from '../../core/relay/relay-client.js';
import { portView, type ApiResponse, type ApiResult, type VmView } from '../contract/index.js';
import { done, failedWith } from './failures.js';
import type { ServiceContext } from './service-context.js';

export function vmView(vm: CertifiedVm): VmView {
  return {
    id: vm.id,
    online: vm.online,
    ports: vm.ports.map(portView),
    grantExpiresAt: vm.grantExpiresAt ?? null,
    certificate: vm.certificate,
  };
}

/**
 * The VMs the user may reach. The relay has no push for VM state, so while the UI watches, the
 * service asks it every few seconds and sends `vms.changed` when anything changed — the UI itself
 * never polls. It asks only while logged in, so watching never prompts a login by itself.
 */
/** How long a list asked for ahead of the first watch may stand in for a new one. */
const EARLY_LIST_FRESH_MS = 2000;

export class VmHandlers {
  private watchers = 0;
  private timer: NodeJS.Timeout | undefined;
  private last = '';
  private polling = false;
  /** A list asked for ahead of the UI's first watch (see `prefetch`), used once while fresh. */
  private early: { at: number; listed: Promise<ApiResponse<ApiResult<'vms.list'>>> } | undefined;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly pollMs: number,
  ) {}

  /** `askToLogIn: false`: with the saved login only (see `LoginService.withSavedLogin`). */
  async list(options: { askToLogIn?: boolean } = {}): Promise<ApiResponse<ApiResult<'vms.list'>>> {
    const listed = async (c: RelayCredentials) => {
      const relay = new RelayClient({ endpoint: c.endpoint, token: c.token, fetch: this.ctx.fetch });
      try {
        const list = await relay.listVms();
        return list.ok ? ok(await certifyVmList(c.org, list.value, relay)) : list;
      } finally {
        await relay.close();
      }
    };
    const res =
      options.askToLogIn === false
        ? await this.ctx.login.withSavedLogin(listed)
        : await this.ctx.login.withLogin(listed);
    if (!res.ok) return failedWith(res.error);
    const vms = res.value.vms.map(vmView);
    this.last = JSON.stringify(vms);
    return done({ trust: res.value.trust, vms });
  }

  /**
   * Starts asking the relay for the list now: the app asks for its state first and for the list
   * only once its first screen has rendered, and the relay's round trip can run meanwhile (app
   * start). Only with a valid login, so it never prompts for one. A list already asked for and
   * still fresh is not asked for again.
   */
  prefetch(options: { askToLogIn?: boolean } = {}): Promise<void> {
    // Already on its way (the service warmed up at start): asking twice would cost the relay a list.
    if (!this.early || Date.now() - this.early.at >= EARLY_LIST_FRESH_MS) {
      const early = { at: Date.now(), listed: this.list(options) };
      // Fresh counts from the answer, not the question (a slow relay does not make it stale).
      early.listed.then(
        () => (early.at = Date.now()),
        () => undefined,
      );
      this.early = early;
    }
    // Once the list is had or refused; a rejection (a bug) must not go unhandled: nobody may watch.
    return this.early.listed.then(
      () => undefined,
      () => undefined,
    );
  }

  async watch(): Promise<ApiResponse<ApiResult<'vms.watch'>>> {
    const early = this.early;
    this.early = undefined;
    const asked = early && Date.now() - early.at < EARLY_LIST_FRESH_MS ? await early.listed : undefined;
    // An early list that failed (a warm-up's refused login, say) is asked for again, now that a
    // window watches and can answer a login prompt.
    const listed = asked?.ok ? asked : await this.list();
    if (!listed.ok) return listed;
    this.watchers++;
    if (!this.timer) {
      this.timer = setInterval(() => void this.poll(), this.pollMs);
      this.timer.unref();
    }
    return listed;
  }

  async unwatch(): Promise<ApiResponse<ApiResult<'vms.unwatch'>>> {
    this.watchers = Math.max(0, this.watchers - 1);
    if (this.watchers === 0) this.stop();
    return done({});
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      if ((await this.ctx.login.state()).state !== 'logged_in') return;
      const before = this.last;
      const listed = await this.list();
      if (listed.ok && this.last !== before) this.ctx.events.emit({ type: 'vms.changed', vms: listed.value.vms });
    } finally {
      this.polling = false;
    }
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.watchers = 0;
    this.stop();
  }
}
