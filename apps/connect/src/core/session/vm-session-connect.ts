import { once } from 'node:events';
import {
  CloseCode,
  err,
  ok,
  runInSession,
  type PinnedHttpsAgent,
  type Result,
  type SessionResponse,
} from '@airlock/shared';
import { ConnectedVmSession } from './connected-vm-session.js';
import { closeWithReason, openDataSocket, type DataSocket } from './data-socket.js';
import { silentLogger, type Logger } from '../logger.js';
import type { SessionStep, VmSession, VmSessionError } from './types.js';
import { noSessionJournal, type SessionJournal } from '../logging/session-journal.js';
import type { RelayEndpoint } from '../relay/relay-endpoint.js';
import type { SessionTrust } from './org-trust.js';
import { sshHandshake } from './ssh-handshake.js';
import { SessionResumer, type ResumeOptions } from './session-resumer.js';
import type { UserKey } from '../identity/user-key-store.js';

// Steps 4–5 of a session, after the ticket (vm-session.ts): the data WebSocket through the relay
// (data-socket.ts), the SSH handshake with the VM's host key pinned (ssh-handshake.ts), then
// channels on the established session (connected-vm-session.ts, channel-opener.ts). A module of
// its own because it is what loads ws and the SSH library: openVmSession imports it when a
// session is opened, so commands that open none do not load them.

export interface ConnectVmSessionOptions {
  /** Pinned, and with the client certificate the ticket's token is bound to. */
  endpoint: RelayEndpoint;
  /** The connections the ticket came over (`RelayClient.handOverConnections`); owned from here on. */
  relayConnections?: PinnedHttpsAgent | undefined;
  session: SessionResponse;
  user: string;
  userKey: UserKey;
  logger?: Logger;
  timeoutMs?: number;
  journal?: SessionJournal;
  purpose?: string;
  /** Told each step of the setup as it is reached. */
  onStep?: (step: SessionStep) => void;
  /** How the host key was judged (openVmSession); `relay-only` when not given. */
  trust?: SessionTrust;
  /** Resume the session when its connection drops (openVmSession); without it a drop ends it. */
  resume?: ResumeOptions;
}

/**
 * Step 4–5 of a session: data WebSocket with the ticket, SSH handshake, host key pin, user key
 * auth. Everything the session does runs in its session context: a bug in its handling is
 * reported with its id and closes this session alone (installProcessGuards).
 */
export async function connectVmSession(options: ConnectVmSessionOptions): Promise<Result<VmSession, VmSessionError>> {
  const { sessionId, vm } = options.session;
  const journal = options.journal ?? noSessionJournal;
  journal.started(sessionId, vm, options.purpose);
  const opened = await connectInSession(options);
  if (!opened.ok) {
    journal.ended(sessionId, vm, { outcome: 'failed', code: opened.error.code, reason: opened.error.message });
    return opened;
  }
  opened.value.onClosed((e) =>
    journal.ended(
      sessionId,
      vm,
      e.error ? { outcome: 'failed', code: e.error.code, reason: e.reason } : { outcome: 'closed', reason: e.reason },
    ),
  );
  return opened;
}

function connectInSession(options: ConnectVmSessionOptions): Promise<Result<VmSession, VmSessionError>> {
  const { sessionId } = options.session;
  let socket: DataSocket | undefined;
  const abort = (reason: string) => socket && closeWithReason(socket.ws, CloseCode.internalError, reason);
  return runInSession({ sid: sessionId, abort }, () => {
    socket = openDataSocket({
      endpoint: options.endpoint,
      sessionId,
      ticket: options.session.ticket,
      handshakeTimeoutMs: Math.min(options.timeoutMs ?? 20_000, 15_000),
      connections: options.relayConnections,
    });
    return establish(options, socket);
  });
}

async function establish(
  options: ConnectVmSessionOptions,
  socket: DataSocket,
): Promise<Result<VmSession, VmSessionError>> {
  const { session } = options;
  const sessionId = session.sessionId;
  const log = (options.logger ?? silentLogger).child({ sid: sessionId, vm: session.vm });
  const timeoutMs = options.timeoutMs ?? 20_000;
  const step = options.onStep ?? (() => {});
  log.debug({ url: socket.url }, 'opening data socket');
  // The agent speaks only once the relay has paired it with us: its first bytes are the pairing.
  socket.ws.once('message', () => step('paired'));

  const fail = (error: VmSessionError): Result<never, VmSessionError> => {
    log.warn({ code: error.code }, error.message);
    // A protocol failure was closed with its reason already (the relay audits it).
    if (error.code !== 'protocol_error') socket.ws.terminate();
    return err(error);
  };

  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const secs = Math.round(timeoutMs / 1000);
  const timeoutError = (phase: 'open' | 'handshake' | 'auth'): VmSessionError => ({
    code: 'connect_timeout',
    sessionId,
    message:
      phase === 'open'
        ? `the relay did not accept the data connection within ${secs} s`
        : phase === 'handshake'
          ? `no SSH handshake from the agent of ${session.vm} within ${secs} s (the relay accepted the connection, but nothing came back)`
          : `SSH authentication with the agent of ${session.vm} did not finish within ${secs} s`,
  });

  try {
    const opened = await Promise.race([
      once(socket.ws, 'open').then(
        () => 'open' as const,
        () => 'failed' as const,
      ),
      socket.ended,
      timedOut,
    ]);
    if (opened === 'timeout') return fail(timeoutError('open'));
    if (opened !== 'open') return fail(await socket.explainFailure('the data socket did not open'));
    step('socket_open');
    log.debug('data socket open; starting SSH handshake');

    const ssh = await sshHandshake({
      socket,
      session,
      user: options.user,
      userKey: options.userKey,
      deadline: timedOut,
      timeoutError,
      onStep: step,
    });
    if (!ssh.ok) return fail(ssh.error);
    const trust = options.trust ?? 'relay-only';
    log.info({ hostKey: ssh.value.hostKey, trust }, 'session established');
    const resumer = options.resume && new SessionResumer(sessionId, ssh.value.hostKey, options.resume);
    return ok(new ConnectedVmSession(session, ssh.value.client, socket, log, trust, resumer));
  } finally {
    clearTimeout(timer);
  }
}
