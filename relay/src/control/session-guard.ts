import type { Logger } from 'pino';
import { CloseCode } from '@airlock/shared';
import type { AuditRecorder } from '../audit/recorder.js';
import type { AgentLink, AgentRegistry } from '../data/agent-registry.js';
import type { SessionPairer } from '../data/session-pairer.js';
import { effectivePorts, grantActive, type RelayStore, type SessionRecord } from '../store/types.js';
import { RevocationLookups } from './revocation-lookups.js';

/**
 * Makes revocation reach live connections. Every `intervalMs` it reads one counter, the store's
 * revocation epoch, which every change that can take access away moves (in the same transaction,
 * whichever process writes: the admin CLI is another process on the same SQLite file). Only when
 * it moved are all live sessions (user active, device not revoked, grant in force, ports still
 * allowed, no kill requested) and agent links (credential not revoked) re-checked. Between
 * changes a tick costs one query however many sessions are open; what is new since the last
 * tick (sessions, links) is checked once, so one authorized just before a change that the sweep
 * missed is still caught, and a grant's expiry — a change no one writes — is a deadline of its own.
 */
export class SessionGuard {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** The epoch the last full sweep saw; undefined until the first. */
  private epoch: number | undefined;
  /** The earliest grant expiry among live sessions: a sweep is due then. */
  private nextExpiry = Infinity;
  private readonly checkedLinks = new WeakSet<AgentLink>();

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
      this.running ??= this.tick()
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

  /** One tick: a full sweep if the epoch moved or a grant expired, else only what is new. */
  async tick(): Promise<void> {
    const epoch = await this.deps.store.revocations.epoch();
    if (epoch !== this.epoch || this.now() >= this.nextExpiry) return this.sweep(epoch);
    const lookups = new RevocationLookups(this.deps.store);
    for (const sid of this.deps.pairer.takeUnchecked()) await this.checkSession(sid, lookups);
    for (const link of this.deps.registry.list()) if (!this.checkedLinks.has(link)) await this.checkLink(link);
  }

  /** Re-checks every live session and agent link; public so tests can run it without waiting. */
  async sweep(epoch?: number): Promise<void> {
    const current = epoch ?? (await this.deps.store.revocations.epoch());
    this.nextExpiry = Infinity;
    this.deps.pairer.takeUnchecked();
    // One admin change usually concerns one user or VM: the lookups are shared across sessions.
    const lookups = new RevocationLookups(this.deps.store);
    for (const sid of [...this.deps.pairer.sessionIds()]) await this.checkSession(sid, lookups);
    // A session waiting to be resumed is still a session: revocation ends it too.
    for (const sid of [...this.deps.pairer.suspendedIds()]) await this.checkSession(sid, lookups);
    for (const link of this.deps.registry.list()) await this.checkLink(link);
    this.epoch = current;
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  private async checkSession(sid: string, lookups: RevocationLookups): Promise<void> {
    const record = await this.deps.store.sessions.get(sid);
    // The API registers a session with the pairer before it writes the session's record.
    if (!record) return this.deps.pairer.recheckLater(sid);
    const now = new Date(this.now());
    const verdict = await this.sessionRevocation(record, now, lookups);
    if (typeof verdict === 'string')
      return this.closeSession(sid, record.user, record.vm, verdict, record.killRequestedBy);
    this.nextExpiry = Math.min(this.nextExpiry, verdict.expiresAt);
  }

  private async checkLink(link: AgentLink): Promise<void> {
    this.checkedLinks.add(link);
    if (!link.credentialId) return;
    const cred = await this.deps.store.agentCredentials.get(link.credentialId);
    if (cred && !cred.revokedAt) return;
    const { pairer, registry } = this.deps;
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

  /** Why the session must end, or until when its grant holds (Infinity: no expiry). */
  private async sessionRevocation(
    record: SessionRecord,
    now: Date,
    lookups: RevocationLookups,
  ): Promise<string | { expiresAt: number }> {
    // The specific reasons come first: an admin change that also asks for a kill (revoking a
    // device, say) should tell the user what changed, not just that someone closed the session.
    const [user, device, grant, vm] = await Promise.all([
      lookups.user(record.user),
      lookups.device(record.device),
      lookups.grant(record.user, record.vm),
      lookups.vm(record.vm),
    ]);
    if (!user || user.status !== 'active') return `user ${record.user} was disabled`;
    if (!device || device.revokedAt) return 'this device was revoked';
    if (!grant || !grantActive(grant, now) || !vm) return `access to VM ${record.vm} was withdrawn or expired`;
    // The ticket let the agent open these ports; if the grant or the VM no longer allows one, the
    // session goes (a new one gets a ticket with what is allowed now).
    const allowed = new Set(effectivePorts(vm, grant));
    if (record.ports.some((p) => !allowed.has(p))) return `the ports you may use on VM ${record.vm} were narrowed`;
    if (record.killRequestedAt) return 'an administrator closed this session';
    return { expiresAt: grant.expiresAt ? Date.parse(grant.expiresAt) : Infinity };
  }

  private async closeSession(sid: string, user: string, vm: string, reason: string, by?: string): Promise<void> {
    const { pairer, registry } = this.deps;
    if (!pairer.terminate(sid, CloseCode.revoked, reason) && !pairer.endSuspended(sid, reason)) return;
    // The agent may hold the session with no connection (waiting for a resume): it ends it now.
    registry.send(vm, { type: 'end', sessionId: sid, reason });
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
