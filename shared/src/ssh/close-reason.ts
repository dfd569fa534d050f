import { SshDisconnectReason } from '@microsoft/dev-tunnels-ssh';
import { printableText } from '../printable.js';

/** Disconnect reasons that mean the peer (or the path) broke the protocol, not a normal end. */
const PROTOCOL_FAILURES = new Set<SshDisconnectReason>([
  SshDisconnectReason.hostNotAllowedToConnect,
  SshDisconnectReason.protocolError,
  SshDisconnectReason.keyExchangeFailed,
  SshDisconnectReason.reserved,
  SshDisconnectReason.macError,
  SshDisconnectReason.compressionError,
  SshDisconnectReason.serviceNotAvailable,
  SshDisconnectReason.protocolVersionNotSupported,
  SshDisconnectReason.hostKeyNotVerifiable,
]);

export interface SshEnd {
  /** True when the session ended because of a protocol failure (bad bytes, MAC, key exchange…). */
  failure: boolean;
  /** One line for logs and close reasons: control characters (which a peer may send) removed. */
  text: string;
  /** The library's message alone, made printable. */
  detail: string;
}

/** How an SSH session ended, from its closed event (`reason`, `message`). */
export function describeSshEnd(e: { reason: SshDisconnectReason; message?: string }): SshEnd {
  const failure = PROTOCOL_FAILURES.has(e.reason);
  const detail = printableText(e.message || SshDisconnectReason[e.reason] || 'closed', 200);
  return { failure, detail, text: failure ? `SSH protocol error: ${detail}` : `SSH session closed: ${detail}` };
}
