import type { Logger } from 'pino';
import { CloseCode } from '@airlock/shared';
import type { AuditRecorder } from '../audit/recorder.js';
import type { AgentRegistry } from '../data/agent-registry.js';
import type { SessionPairer } from '../data/session-pairer.js';
import { effectivePorts, grantActive, type RelayStore } from '../store/types.js';

/**
 * Makes revocation reach live connections. Every `intervalMs` it re-checks each live session
 * (user active, device not revoked, grant in force, no kill requested) and each agent link
 * (credential not revoked) against the store, and closes what no longer holds. Polling the
 * store, rather than an in-process event, is what lets the admin CLI (another process writing
 * the same SQLite file) and, later, other relay instances revoke too.
 */
export class SessionGuard {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      store: RelayStore;
      pairer: SessionPairer;
      registry: AgentRegistry;
      audit: AuditRecorder;
      logger: Logger;
      intervalMs: number;
      now?: () => number;
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.sweep()
        .catch((error: unknown) =>
          this.deps.logger.error({ error: (error as Error).message }, 'revocation sweep failed'),
        )
        .finally(() => (this.running = undefined));
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass; public so tests can run it without waiting. */
  async sweep(): Promise<void> {
    const { store, pairer, registry } = this.deps;
    const now = new Date(this.deps.now?.() ?? Date.now());
    for (const live of pairer.list()) {
      const record = await store.sessions.get(live.sid);
      if (!record) continue;
      const reason = await this.sessionRevocation(record, now);
      if (reason) await this.closeSession(live.sid, record.user, reason, record.killRequestedBy);
    }
    for (const link of registry.list()) {
      if (!link.credentialId) continue;
      const cred = await store.agentCredentials.get(link.credentialId);
      if (cred && !cred.revokedAt) continue;
      const reason = 'the agent credential was revoked';
      registry.disconnect(link.vm, CloseCode.revoked, reason);
      for (const s of pairer.list()) if (s.vm === link.vm) pairer.terminate(s.sid, CloseCode.revoked, reason);
      await this.deps.audit.record({
        type: 'agent.revoked',
        actor: 'relay',
        outcome: 'info',
        data: { vm: link.vm, credential: link.credentialId },
      });
    }
  }

  private async sessionRevocation(
    record: { user: string; device: string; vm: string; ports: number[]; killRequestedAt?: string },
    now: Date,
  ): Promise<string | undefined> {
    const { store } = this.deps;
    // The specific reasons come first: an admin change that also asks for a kill (revoking a
    // device, say) should tell the user what changed, not just that someone closed the session.
    const [user, device, grant, vm] = await Promise.all([
      store.users.get(record.user),
      store.devices.get(record.device),
      store.grants.get(record.user, record.vm),
      store.vms.get(record.vm),
    ]);
    if (!user || user.status !== 'active') return `user ${record.user} was disabled`;
    if (!device || device.revokedAt) return 'this device was revoked';
    if (!grant || !grantActive(grant, now) || !vm) return `access to VM ${record.vm} was withdrawn or expired`;
    // The ticket let the agent open these ports; if the grant or the VM no longer allows one, the
    // session goes (a new one gets a ticket with what is allowed now).
    const allowed = new Set(effectivePorts(vm, grant));
    if (record.ports.some((p) => !allowed.has(p))) return `the ports you may use on VM ${record.vm} were narrowed`;
    if (record.killRequestedAt) return 'an administrator closed this session';
    return undefined;
  }

  private async closeSession(sid: string, user: string, reason: string, by?: string): Promise<void> {
    if (!this.deps.pairer.terminate(sid, CloseCode.revoked, reason)) return;
    this.deps.logger.info({ sid, user, reason }, 'session closed by revocation');
    await this.deps.audit.record({
      type: 'session.revoked',
      actor: by ?? 'relay',
      outcome: 'info',
      sid,
      data: { user, reason },
    });
  }
}
