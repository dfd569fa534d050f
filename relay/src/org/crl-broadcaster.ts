import type { Logger } from 'pino';
import type { AgentRegistry } from '../data/agent-registry.js';
import type { OrgView } from './org-view.js';

/**
 * Pushes a new revocation list to every connected agent once an admin sets it (the admin CLI
 * writes the store from another process, so the relay polls it, as the session guard does).
 * A list also goes to each agent when it registers, and with each session answer to Connect.
 */
export class CrlBroadcaster {
  private timer: NodeJS.Timeout | undefined;
  /** The list last sent (or in force at start-up), by its content: a new organisation's may count from 1 again. */
  private sent: string | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly deps: { org: OrgView; registry: AgentRegistry; logger: Logger; intervalMs: number }) {}

  /**
   * Notes the list in force now (an agent is sent it when it registers), then checks for newer
   * ones. Noting it on the first check instead took the first list an admin set after a start
   * without one for the one in force at start-up, and sent it to no connected agent.
   */
  async start(): Promise<void> {
    try {
      this.sent = identity(await this.deps.org.crl());
    } catch (error) {
      this.deps.logger.error({ error: (error as Error).message }, 'revocation list check failed');
    }
    this.timer = setInterval(() => {
      this.running ??= this.tick()
        .catch((error: unknown) =>
          this.deps.logger.error({ error: (error as Error).message }, 'revocation list check failed'),
        )
        .finally(() => (this.running = undefined));
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  /** One check; public so tests can run it without waiting. */
  async tick(): Promise<void> {
    const crl = await this.deps.org.crl();
    // Any other list than the one sent: a newer one, or (after the anchor was replaced) another
    // organisation's, which numbers its lists afresh.
    if (!crl || identity(crl) === this.sent) return;
    this.sent = identity(crl);
    let sent = 0;
    for (const link of this.deps.registry.list())
      if (this.deps.registry.send(link.vm, { type: 'crl', crl: crl.chain })) sent++;
    this.deps.logger.info({ seq: crl.seq, agents: sent }, 'new revocation list sent to the connected agents');
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}

const identity = (crl: { chain: string[]; seq: number } | undefined) =>
  crl ? `${crl.seq}\n${crl.chain.join('\n')}` : undefined;
