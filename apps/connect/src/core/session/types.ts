import type { SshChannel } from '@microsoft/dev-tunnels-ssh';
import type { Result } from '@airlock/shared';
import type { Logger } from '../logger.js';
import type { RelayError } from '../relay/relay-error.js';
import type { ChannelStreams } from './channel-streams.js';
import type { SessionTrust, VmNotCertified } from './org-trust.js';

// What a session to a VM is and how it fails, apart from how one is opened (vm-session.ts), so the
// pieces that implement it (connected-vm-session.ts, channel-opener.ts, data-socket.ts,
// ssh-handshake.ts) depend on these types and not on each other in a loop.

/** Why a session could not be opened (or ended), typed for callers; `message` is for people. */
export type VmSessionError =
  | RelayError
  | { code: 'ticket_rejected'; sessionId: string; message: string }
  | { code: 'session_refused'; sessionId: string; status: number; message: string }
  | { code: 'agent_refused'; sessionId: string; reason: string; message: string }
  | { code: 'agent_unavailable'; sessionId: string; message: string }
  | { code: 'auth_failed'; sessionId: string; message: string }
  | { code: 'host_key_mismatch'; sessionId: string; presented: string; registered: string; message: string }
  | { code: 'connect_timeout'; sessionId: string; message: string }
  /** The relay closed the session because the user, device, grant or agent was revoked (or an admin killed it). */
  | { code: 'revoked'; sessionId: string; message: string }
  | { code: 'session_closed'; sessionId: string; message: string }
  /** The connection dropped and the session could not be taken up again ("could not resume: …"). */
  | { code: 'resume_failed'; sessionId: string; message: string }
  /** The agent (or something on the path) sent bytes that are not valid SSH; Connect closed the session. */
  | { code: 'protocol_error'; sessionId: string; message: string }
  /** The relay's host key for the VM has no chain to the pinned organisation (or a wrong, expired or revoked one). */
  | VmNotCertified;

/** Why a channel on an open session could not be opened. */
export type ChannelError =
  | { code: 'port_not_allowed'; sessionId: string; port: number; allowed: number[]; message: string }
  | { code: 'port_unreachable'; sessionId: string; port: number; message: string }
  | { code: 'channel_refused'; sessionId: string; message: string }
  /** The agent is at its limit of channels or forwarded connections for this session. */
  | { code: 'channel_limit'; sessionId: string; message: string }
  /** `agentSays`: the agent's own explanation (its stderr on the refused channel), when it gave one. */
  | { code: 'request_refused'; sessionId: string; request: string; message: string; agentSays?: string }
  | { code: 'session_closed'; sessionId: string; message: string };

/**
 * How far opening a session got, in order: the relay accepted the data socket (the ticket),
 * the agent joined it (its first bytes arrived: the relay paired the two), the SSH key exchange
 * finished, the VM's host key matched the one the relay registered, the agent accepted our key.
 */
export const SESSION_STEPS = ['socket_open', 'paired', 'ssh_connected', 'host_key_verified', 'authenticated'] as const;
export type SessionStep = (typeof SESSION_STEPS)[number];

export interface ShellOptions {
  /** Ask for a pseudo-terminal (default true). Without one the remote shell reads commands from stdin. */
  pty?: boolean;
  term?: string;
  cols?: number;
  rows?: number;
}

export interface ShellChannel extends ChannelStreams {
  /** Sends `window-change`; a no-op without a pty or once the channel is closed. */
  resize(cols: number, rows: number): void;
}

export type ExecChannel = ChannelStreams;
export type SubsystemChannel = ChannelStreams;

export interface SessionClosedEvent {
  sessionId: string;
  /** One line for people: why the session ended. */
  reason: string;
  /** Set when the end was a failure rather than our own close(). */
  error?: VmSessionError;
}

/**
 * Where a session's connection stands. A dropped connection is not the end of the session: it
 * is `reconnecting` (each attempt, and why the last one failed) until it is `resumed` — nothing
 * sent either way is lost — or `lost`, after which the session closes with a `resume_failed` error.
 */
export type ConnectionState =
  | { state: 'connected' }
  | { state: 'reconnecting'; attempt: number; reason: string; downMs: number; windowMs: number }
  | { state: 'resumed'; attempts: number; downMs: number }
  | { state: 'lost'; reason: string };

export interface VmSession {
  readonly sessionId: string;
  readonly vm: string;
  /** Ports the ticket allows forwarding to (intersection of grant and agent policy). */
  readonly ports: readonly number[];
  readonly hostKeyFingerprint: string;
  /** `org-root`: the host key was certified under the pinned organisation; `relay-only`: on the relay's word. */
  readonly trust: SessionTrust;
  readonly log: Logger;
  readonly isClosed: boolean;
  openShell(options?: ShellOptions): Promise<Result<ShellChannel, ChannelError>>;
  exec(command: string): Promise<Result<ExecChannel, ChannelError>>;
  openSubsystem(name: string): Promise<Result<SubsystemChannel, ChannelError>>;
  /** A `direct-tcpip` channel to 127.0.0.1:`port` inside the VM, with a bulk window. */
  openDirectTcpip(port: number): Promise<Result<SshChannel, ChannelError>>;
  close(): Promise<void>;
  /** Called once when the session ends for any reason; returns an unsubscribe function. */
  onClosed(listener: (e: SessionClosedEvent) => void): () => void;
  /** Told of every change of the connection under the session (drops and resumes). */
  onConnectionState(listener: (e: ConnectionState) => void): () => void;
}
