import type { SessionAuditEntry, SessionDetail } from '@airlock/shared';
import type { RelayStore } from '../store/types.js';

/** Live byte counts of a session the running relay holds (the store has them only once it ends). */
export type LiveBytes = (sid: string) => { bytesUp: number; bytesDown: number } | undefined;

/** Audit entries shown per session; a session has a handful unless an agent reported many refusals. */
const MAX_AUDIT_ENTRIES = 500;

/**
 * Everything known about one session: who, which VM and ports, when, bytes each way, how it
 * ended and why, and every audit entry with its id. Undefined for an unknown id.
 */
export async function sessionDetail(
  deps: { store: RelayStore; now: () => Date; live?: LiveBytes },
  sid: string,
): Promise<SessionDetail | undefined> {
  const { store } = deps;
  const s = await store.sessions.get(sid);
  if (!s) return undefined;
  const [device, entries] = await Promise.all([
    store.devices.get(s.device),
    store.audit.query({ sid, limit: MAX_AUDIT_ENTRIES }),
  ]);
  const live = s.endedAt ? undefined : deps.live?.(sid);
  const start = Date.parse(s.openedAt ?? s.createdAt);
  const end = s.endedAt ? Date.parse(s.endedAt) : deps.now().getTime();
  // The relay or an admin closing a session writes `session.revoked`, naming who asked.
  const revoked = entries.find((e) => e.type === 'session.revoked');
  const audit: SessionAuditEntry[] = entries.map((e) => ({
    seq: e.seq,
    ts: e.ts,
    type: e.type,
    actor: e.actor,
    outcome: e.outcome,
    ...(e.source ? { source: e.source } : {}),
    data: e.data,
  }));
  return {
    id: s.id,
    user: s.user,
    device: { id: s.device, ...(device ? { name: device.name } : {}) },
    vm: s.vm,
    ports: s.ports,
    state: s.endedAt ? 'ended' : s.openedAt ? 'open' : 'pending',
    createdAt: s.createdAt,
    ...(s.openedAt ? { openedAt: s.openedAt } : {}),
    ...(s.endedAt ? { endedAt: s.endedAt } : {}),
    durationMs: Math.max(0, end - start),
    bytesFromClient: live?.bytesUp ?? s.bytesFromClient,
    bytesFromAgent: live?.bytesDown ?? s.bytesFromAgent,
    bytesLive: !!live,
    ...(s.endedAt ? { end: { reason: s.endReason ?? 'unknown', ...(revoked ? { by: revoked.actor } : {}) } } : {}),
    ...(s.killRequestedAt && s.killRequestedBy
      ? { killRequested: { at: s.killRequestedAt, by: s.killRequestedBy } }
      : {}),
    audit,
  };
}
