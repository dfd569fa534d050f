/** Paths, close codes and limits that the relay, the agent and Connect must agree on. */
export const API_PREFIX = '/api/v1';

export const WS_PATHS = {
  /** The agent's long-lived, authenticated control socket. */
  agentControl: '/ws/agent',
  /** The agent's per-session data socket (`?sid=`). */
  agentSession: '/ws/agent/session',
  /** Connect's per-session data socket (`?sid=`, ticket in the Authorization header). */
  connect: '/ws/connect',
} as const;

/** Session ids are not secrets (the ticket is); they may appear in URLs and logs. */
export const SESSION_ID_PARAM = 'sid';

/**
 * WebSocket close codes (4000–4999 is the application range). The reason string carries the
 * human message; the code lets programs branch without parsing text.
 */
export const CloseCode = {
  normal: 1000,
  peerClosed: 4000,
  unpairedTimeout: 4001,
  ticketRejected: 4002,
  agentRefused: 4003,
  agentOffline: 4004,
  replaced: 4005,
  unauthorized: 4006,
  protocolError: 4007,
  shuttingDown: 4008,
  /** The user, device, grant or agent credential was revoked, or an admin killed the session. */
  revoked: 4009,
  /**
   * The other side's connection dropped (no close from it): the session is suspended, not over.
   * Each side keeps its SSH session and waits for a resume (Connect asks for it). The relay itself
   * drops the remaining side without a close frame (see SessionPipe); the code is what a side
   * that does send one uses.
   */
  peerLost: 4010,
  /** RFC 6455 "internal error": a bug in the closing side ended this session (reported in its log). */
  internalError: 1011,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * Whether a data socket that ended with `code` leaves its session resumable: it vanished
 * (1006: no close frame; 1001: a server or proxy going away), the relay lost the other side or is
 * restarting, or a resume took the session over. Every other code is somebody's decision to end
 * the session (a close, a refusal, a revocation, a protocol error) and is final.
 */
export function isResumableClose(code: number): boolean {
  return (
    code === 1001 ||
    code === 1006 ||
    code === CloseCode.peerLost ||
    code === CloseCode.shuttingDown ||
    code === CloseCode.replaced
  );
}

/** WebSocket close reasons are limited to 123 bytes by RFC 6455. */
export function closeReason(text: string): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= 123) return text;
  return (
    buf
      .subarray(0, 120)
      .toString('utf8')
      .replace(/\uFFFD+$/, '') + '...'
  );
}

/**
 * Largest WebSocket message a data socket accepts. One frame carries one SSH packet, at most
 * 256 KiB of payload plus its framing (shared/src/ssh/config.ts), so this only bounds what a
 * misbehaving peer can make the receiver buffer for one frame.
 */
export const DATA_FRAME_MAX_BYTES = 4 * 1024 * 1024;
/** The least a relay may be configured to accept: a full SSH packet with room to spare. */
export const DATA_FRAME_MIN_BYTES = 512 * 1024;

export const TICKET_TTL_SECONDS = 60;
export const ACCESS_TOKEN_TTL_SECONDS = 30 * 60;
/** A session's resume token; each resume hands out a new one. */
export const RESUME_TOKEN_TTL_SECONDS = 24 * 60 * 60;
/** How long a dropped session waits to be resumed before either side gives it up. */
export const DEFAULT_RESUME_WINDOW_SECONDS = 180;
export const LOGIN_NONCE_TTL_SECONDS = 60;
