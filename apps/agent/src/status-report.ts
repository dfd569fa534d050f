// The shape of `airlock-agent status --json`, apart from the code that fills it (status.ts) and
// the relay check that fills a part of it (status-relay.ts), so neither imports the other.
import type { PresentedCertificate } from '@airlock/shared';
import type { StatusCheck } from './status-check.js';
import type { AgentStatusFile, SessionStatus } from './status-file.js';

/** `airlock-agent status --json`: fields are only ever added. */
export interface AgentStatusReport {
  at: string;
  /** Every check passed: the agent can serve sessions and every policy port has a listener. */
  ok: boolean;
  checks: StatusCheck[];
  enrollment?: { vm: string; relayUrl: string; relayPin: string; stateDir: string };
  relay?: {
    reachable: boolean;
    pinOk?: boolean;
    presented?: PresentedCertificate;
    error?: string;
    /** Relay clock minus this machine's, in ms (positive: this clock is behind). */
    clockSkewMs?: number;
  };
  agent?: { running: boolean; statusFile: string; pid?: number; version?: string; startedAt?: string };
  link?: AgentStatusFile['link'];
  sessions: SessionStatus[];
  ports: { port: number; listening: boolean; detail: string }[];
}
