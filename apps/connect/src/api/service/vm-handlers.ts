import { ok } from '@airlock/shared';
import { certifyVmList, type CertifiedVm } from '../../core/org/vm-certificates.js';
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
export class VmHandlers {
  private watchers = 0;
  private timer: NodeJS.Timeout | undefined;
  private last = '';
  private polling = false;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly pollMs: number,
  ) {}

  async list(): Promise<ApiResponse<ApiResult<'vms.list'>>> {
    const res = await this.ctx.login.withLogin(async (c) => {
      const relay = new RelayClient({ endpoint: c.endpoint, token: c.token, fetch: this.ctx.fetch });
      try {
        const list = await relay.listVms();
        return list.ok ? ok(await certifyVmList(c.org, list.value, relay)) : list;
      } finally {
        await relay.close();
      }
    });
    if (!res.ok) return failedWith(res.error);
    const vms = res.value.vms.map(vmView);
    this.last = JSON.stringify(vms);
    return done({ trust: res.value.trust, vms });
  }

  async watch(): Promise<ApiResponse<ApiResult<'vms.watch'>>> {
    const listed = await this.list();
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
