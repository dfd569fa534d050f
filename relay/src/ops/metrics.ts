import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { EXPLAIN_CODES } from '@airlock/shared';
import type { AuditRecorder } from '../audit/recorder.js';
import type { DataPlaneObserver, SessionSnapshot } from '../data/observer.js';
import type { UpgradeEndpoint } from '../data/upgrade-router.js';
import type { AuditEventInput } from '../store/types.js';

/**
 * Label values come only from these lists (anything else is `other`): no user name, VM id,
 * address or free text ever becomes a label, so the number of series stays bounded.
 */
export const SESSION_REFUSAL_REASONS = [...EXPLAIN_CODES, 'too_many_pending', 'agent_refused', 'other'] as const;
export const LOGIN_FAILURE_REASONS = [
  'certificate_mismatch',
  'no_client_certificate',
  'challenge_unknown',
  'challenge_expired',
  'challenge_wrong_user',
  'unknown_device',
  'device_revoked',
  'bad_signature',
  'user_disabled',
  'locked_out',
  'totp_reused_code',
  'totp_no_totp',
  'totp_wrong_code',
  'other',
] as const;

/** What the relay's metrics read from its live state when scraped. */
export interface LiveState {
  sessions(): SessionSnapshot[];
  pendingSessions(): number;
  agentsOnline(): number;
}

const label = <T extends string>(allowed: readonly T[], value: unknown): T =>
  (allowed as readonly unknown[]).includes(value) ? (value as T) : ('other' as T);

/** "totp wrong_code" → "totp_wrong_code" */
const snake = (text: unknown) =>
  typeof text === 'string'
    ? text
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '_')
        .replace(/^_|_$/g, '')
    : undefined;

/**
 * The relay's Prometheus metrics, in a registry of its own (several relays can share a test
 * process). Counters move from three places: the audit events the relay records (every refusal
 * is audited, so the refusal counters cannot miss one), the data plane's session events, and
 * refused WebSocket upgrades (counted even past the audit budget). Gauges are read at scrape time.
 */
export class RelayMetrics {
  readonly registry = new Registry();
  private readonly sessionsOpened: Counter;
  private readonly sessionsClosed: Counter<'paired'>;
  private readonly sessionsRefused: Counter<'reason'>;
  private readonly logins: Counter<'outcome' | 'reason'>;
  private readonly upgradeRefusals: Counter<'endpoint' | 'status'>;
  readonly storeLatency: Histogram<'area'>;
  /** Bytes of sessions that have ended; live sessions are added at scrape time. */
  private readonly endedBytes = { up: 0, down: 0 };
  private readonly reportedBytes = { up: 0, down: 0 };
  private defaultsOn = false;

  constructor(live: LiveState) {
    const registers = [this.registry];
    this.sessionsOpened = new Counter({
      name: 'airlock_sessions_opened_total',
      help: 'Sessions whose two sides paired',
      registers,
    });
    this.sessionsClosed = new Counter({
      name: 'airlock_sessions_closed_total',
      help: 'Sessions that ended, by whether they had paired',
      labelNames: ['paired'],
      registers,
    });
    this.sessionsRefused = new Counter({
      name: 'airlock_sessions_refused_total',
      help: 'Session requests refused, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.logins = new Counter({
      name: 'airlock_logins_total',
      help: 'Login attempts, by outcome and failure reason',
      labelNames: ['outcome', 'reason'],
      registers,
    });
    this.upgradeRefusals = new Counter({
      name: 'airlock_upgrade_refusals_total',
      help: 'WebSocket upgrades refused before the socket existed, by endpoint and HTTP status',
      labelNames: ['endpoint', 'status'],
      registers,
    });
    this.storeLatency = new Histogram({
      name: 'airlock_store_operation_duration_seconds',
      help: 'Time the store took per operation, by area (users, sessions, audit…)',
      labelNames: ['area'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers,
    });
    new Gauge({
      name: 'airlock_sessions_live',
      help: 'Sessions paired and copying bytes now',
      registers,
      collect() {
        this.set(live.sessions().filter((s) => s.state === 'paired').length);
      },
    });
    new Gauge({
      name: 'airlock_sessions_pending',
      help: 'Sessions created and waiting for their two sides to pair',
      registers,
      collect() {
        this.set(live.pendingSessions());
      },
    });
    new Gauge({
      name: 'airlock_agents_online',
      help: 'Agents with an open control link',
      registers,
      collect() {
        this.set(live.agentsOnline());
      },
    });
    const bytes = { ended: this.endedBytes, reported: this.reportedBytes };
    new Counter({
      name: 'airlock_session_bytes_total',
      help: 'Bytes the relay copied: up = Connect to agent, down = agent to Connect',
      labelNames: ['direction'],
      registers,
      collect() {
        // Ended sessions plus what live ones copied so far; a session's final count is never
        // below its last live count, so the sum only grows.
        const now = { up: bytes.ended.up, down: bytes.ended.down };
        for (const s of live.sessions()) {
          now.up += s.bytesUp;
          now.down += s.bytesDown;
        }
        for (const d of ['up', 'down'] as const) {
          if (now[d] > bytes.reported[d]) this.inc({ direction: d }, now[d] - bytes.reported[d]);
          bytes.reported[d] = Math.max(bytes.reported[d], now[d]);
        }
      },
    });
  }

  /** Process metrics (memory, CPU, event-loop delay): only for a relay that serves metrics. */
  enableProcessMetrics(): void {
    if (this.defaultsOn) return;
    this.defaultsOn = true;
    collectDefaultMetrics({ register: this.registry });
  }

  /** The data plane's events: sessions opened and closed, bytes of ended sessions. */
  observer(): DataPlaneObserver {
    return {
      onSessionPaired: () => this.sessionsOpened.inc(),
      onSessionClosed: (stats) => {
        this.sessionsClosed.inc({ paired: String(stats.paired) });
        this.endedBytes.up += stats.bytesUp;
        this.endedBytes.down += stats.bytesDown;
      },
    };
  }

  upgradeRefused(endpoint: UpgradeEndpoint, status: number): void {
    this.upgradeRefusals.inc({ endpoint, status: String(status) });
  }

  /** Counts what an audit event says happened (refusals by their bounded code, logins). */
  observeAudit(e: AuditEventInput): void {
    switch (e.type) {
      case 'session.deny':
        this.sessionsRefused.inc({ reason: label(SESSION_REFUSAL_REASONS, e.data.code) });
        return;
      case 'session.agent_refused':
        this.sessionsRefused.inc({ reason: 'agent_refused' });
        return;
      case 'login.success':
        this.logins.inc({ outcome: 'success', reason: '' });
        return;
      case 'login.failure':
        this.logins.inc({ outcome: 'failure', reason: label(LOGIN_FAILURE_REASONS, snake(e.data.reason)) });
        return;
    }
  }

  /** An AuditRecorder that counts each event, then records it with `inner`. */
  meter(inner: AuditRecorder): AuditRecorder {
    return {
      record: (event) => {
        this.observeAudit(event);
        return inner.record(event);
      },
    };
  }
}
