import type { RecentRefusal } from '@airlock/shared';
import type { AuditEntry, RelayStore } from '../store/types.js';

/** How many refusals `explain` shows. */
export const RECENT_REFUSALS = 10;
/** Of how many of the user's latest sessions on the VM the agent's refusals are shown. */
const RECENT_SESSIONS = 5;
/** What the agent reports from inside a session (the relay cannot see these itself). */
const AGENT_REFUSALS = new Set(['session.agent_refused', 'session.channel_refused']);

function text(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function toRecentRefusal(e: AuditEntry): RecentRefusal {
  const reason = text(e.data.reason) ?? e.type;
  const vm = text(e.data.vm);
  return {
    seq: e.seq,
    ts: e.ts,
    type: e.type,
    // The agent's words are its claim: say so where a person reads them.
    reason: e.data.agentClaim === true ? `agent says: ${reason}` : reason,
    ...(e.sid ? { sid: e.sid } : {}),
    ...(vm ? { vm } : {}),
    ...(e.source ? { source: e.source } : {}),
  };
}

/**
 * The user's latest refusals (failed logins, refused sessions, refused tokens — everything
 * audited as a failure with the user as actor), plus what the agent refused inside the user's
 * latest sessions of this VM (a forward to a port its policy does not allow, say). Newest first.
 */
export async function recentRefusals(store: RelayStore, user: string, vm: string): Promise<RecentRefusal[]> {
  const [own, sessions] = await Promise.all([
    store.audit.query({ actor: `user:${user}`, outcome: 'failure', descending: true, limit: RECENT_REFUSALS }),
    store.sessions.list({ user, vm, limit: RECENT_SESSIONS }),
  ]);
  const fromAgent = await Promise.all(
    sessions.map((s) => store.audit.query({ sid: s.id, outcome: 'failure', descending: true, limit: RECENT_REFUSALS })),
  );
  const agentOnes = fromAgent.flat().filter((e) => AGENT_REFUSALS.has(e.type));
  return [...own, ...agentOnes]
    .sort((a, b) => b.seq - a.seq)
    .slice(0, RECENT_REFUSALS)
    .map(toRecentRefusal);
}
