import type { Logger } from 'pino';
import type { AgentToRelay } from '@airlock/shared';
import type { AuditRecorder } from '../audit/recorder.js';
import type { SessionStore } from '../store/types.js';
import type { SessionPairer } from './session-pairer.js';

export type AgentReport = Extract<AgentToRelay, { type: 'dial-refused' | 'channel-refused' }>;

/**
 * How many reports per VM and minute reach the audit log: a token bucket per VM (not per
 * socket, so reconnecting does not refill it). The agent's credential sits inside the VM, where
 * its root user can read it; the budget is what stops that user from growing the audit chain.
 */
export class AgentReportBudget {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  take(vm: string): boolean {
    const t = this.now();
    const b = this.buckets.get(vm) ?? { tokens: this.perMinute, at: t };
    b.tokens = Math.min(this.perMinute, b.tokens + ((t - b.at) * this.perMinute) / 60_000);
    b.at = t;
    this.buckets.set(vm, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

export interface AgentReportsDeps {
  sessions: Pick<SessionStore, 'get'>;
  pairer: Pick<SessionPairer, 'refuse'>;
  audit?: AuditRecorder;
  logger: Logger;
  budget: AgentReportBudget;
  /** At most one summary of dropped reports per link and this period (and one when the link closes). */
  summaryIntervalMs?: number;
}

/**
 * What an agent reports about refusals (a dial it refused, a channel or forward it refused),
 * recorded only for sessions of that agent's own VM, within the VM's budget, with the text
 * cleaned and marked as the agent's claim (`data.agentClaim`): the relay cannot see inside a
 * session, so it can only say that the agent said so. Everything else is counted and summed
 * up in one `agent.reports_dropped` entry of the relay's own.
 */
export class AgentReports {
  private overBudget = 0;
  private notItsSession = 0;
  private summaryTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(
    private readonly vm: string,
    private readonly deps: AgentReportsDeps,
  ) {
    this.log = deps.logger.child({ vm });
  }

  async handle(msg: AgentReport): Promise<void> {
    const sid = msg.sessionId;
    if (!this.deps.budget.take(this.vm)) return this.count('overBudget');
    const reason = agentText(msg.reason);
    if (msg.type === 'dial-refused') {
      // `refuse` checks that the session is pending and belongs to this VM before anything is written.
      if (!this.deps.pairer.refuse(sid, this.vm, reason)) return this.count('notItsSession', sid);
      await this.deps.audit?.record({
        type: 'session.agent_refused',
        actor: `agent:${this.vm}`,
        outcome: 'failure',
        sid,
        data: { agentClaim: true, reason },
      });
      return;
    }
    const session = await this.deps.sessions.get(sid);
    if (session?.vm !== this.vm) return this.count('notItsSession', sid);
    await this.deps.audit?.record({
      type: 'session.channel_refused',
      actor: `agent:${this.vm}`,
      outcome: 'failure',
      sid,
      data: {
        agentClaim: true,
        channel: agentText(msg.channel),
        ...(msg.target ? { target: agentText(msg.target) } : {}),
        reason,
      },
    });
  }

  /** The link closed: anything not yet summed up is, now. */
  close(): void {
    clearTimeout(this.summaryTimer);
    this.summaryTimer = undefined;
    this.summarize('control link closed');
  }

  private count(what: 'overBudget' | 'notItsSession', sid?: string): void {
    if (what === 'overBudget') this.overBudget++;
    else {
      this.notItsSession++;
      // Within the budget, so these log lines are bounded too.
      this.log.warn({ sid }, 'agent reported a refusal for a session that is not a session of its VM; not recorded');
    }
    this.summaryTimer ??= setTimeout(() => {
      this.summaryTimer = undefined;
      this.summarize('periodic');
    }, this.deps.summaryIntervalMs ?? 60_000).unref();
  }

  private summarize(when: string): void {
    const { overBudget, notItsSession } = this;
    if (overBudget + notItsSession === 0) return;
    this.overBudget = 0;
    this.notItsSession = 0;
    this.log.warn({ overBudget, notItsSession }, 'agent reports dropped');
    void this.deps.audit?.record({
      type: 'agent.reports_dropped',
      actor: 'relay',
      outcome: 'info',
      data: { vm: this.vm, overBudget, notItsSession, when },
    });
  }
}

/** Agent text for the audit log and people's terminals: no control or direction-changing characters. */
export function agentText(text: string): string {
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]/g, '?');
}
