import { ok, type Result, type SessionResponse } from '@airlock/shared';
import { silentLogger, type Logger } from '../logger.js';
import { sessionUserKey, type RelayCredentials } from '../login/login.js';
import { RelayClient } from '../relay/relay-client.js';
import type { RelayFetch } from '../relay/relay-http.js';
import type { SessionStep, VmSession, VmSessionError } from './types.js';
import type { SessionJournal } from '../logging/session-journal.js';
import { judgeVmHostKey, orgSessionRequest, type SessionTrust } from './org-trust.js';

// A session to a VM, in steps: POST /sessions for a ticket (relay-client.ts), then the data
// WebSocket, the SSH handshake and channels (vm-session-connect.ts).

export interface OpenVmSessionOptions {
  /** The login: pinned endpoint with its client certificate, the token bound to it, the user. */
  credentials: RelayCredentials;
  vm: string;
  logger?: Logger;
  /** Whole setup (ticket → authenticated SSH session); default 20 s. */
  timeoutMs?: number;
  fetch?: RelayFetch;
  /** Where the session's start and end are recorded (the support bundle's "recent sessions"). */
  journal?: SessionJournal;
  /** What the session is for, in the journal: `shell`, `forward`, `doctor`… */
  purpose?: string;
  /**
   * Resume the session when its connection drops (default on): for how long, and with which
   * login (default: the one it was opened with; the app passes its login service, which renews).
   */
  resume?: false | { windowMs?: number; credentials?: () => Promise<RelayCredentials | undefined> };
  /** Told each step of the setup as it is reached (the bench times them). */
  onStep?: (step: SessionStep) => void;
}

/**
 * POST /sessions, then the encrypted SSH session to the VM's agent through the relay. The agent
 * accepts the login certificate's key (the relay put its fingerprint in the ticket).
 */
export async function openVmSession(options: OpenVmSessionOptions): Promise<Result<VmSession, VmSessionError>> {
  const { credentials } = options;
  // The data path's code (ws, the SSH library) is loaded only by what opens a session: commands
  // that open none never load it (`airlock vms`: 225 instead of 284 ms, README, Performance). It
  // starts loading as the ticket is asked for.
  const connecting = import('./vm-session-connect.js');
  // Awaited below unless the ticket fails; a failure to load is a bug, reported there.
  connecting.catch(() => {});
  const relay = new RelayClient({ endpoint: credentials.endpoint, token: credentials.token, fetch: options.fetch });
  const asked = await relay.closeIfThrows(() => askForSession(relay, options));
  if (!asked.ok) {
    await relay.close();
    return asked;
  }
  const { created, trust } = asked.value;
  const { connectVmSession } = await relay.closeIfThrows(() => connecting);
  return connectVmSession({
    endpoint: credentials.endpoint,
    relayConnections: relay.handOverConnections(),
    session: created,
    user: credentials.user,
    userKey: sessionUserKey(credentials),
    logger: options.logger,
    timeoutMs: options.timeoutMs,
    ...(options.journal ? { journal: options.journal } : {}),
    ...(options.purpose ? { purpose: options.purpose } : {}),
    ...(options.onStep ? { onStep: options.onStep } : {}),
    trust,
    ...(options.resume !== false && created.resumeToken
      ? {
          resume: {
            resumeToken: created.resumeToken,
            credentials: options.resume?.credentials ?? (async () => credentials),
            sessionRequest: (c: RelayCredentials) => orgSessionRequest(c.org),
            ...(options.resume?.windowMs !== undefined ? { windowMs: options.resume.windowMs } : {}),
            ...(options.fetch ? { fetch: options.fetch } : {}),
          },
        }
      : {}),
  });
}

/** POST /sessions, and the VM's host key judged before any data socket exists. */
async function askForSession(
  relay: RelayClient,
  options: OpenVmSessionOptions,
): Promise<Result<{ created: SessionResponse; trust: SessionTrust }, VmSessionError>> {
  const { credentials } = options;
  const created = await relay.createSession(options.vm, await orgSessionRequest(credentials.org));
  if (!created.ok) return created;
  // A host key the organisation did not certify gets nothing.
  const trust = await judgeVmHostKey(credentials.org, options.vm, created.value);
  if (!trust.ok) {
    (options.logger ?? silentLogger).warn(
      { sid: created.value.sessionId, reason: trust.error.reason },
      trust.error.message,
    );
    return trust;
  }
  return ok({ created: created.value, trust: trust.value });
}
