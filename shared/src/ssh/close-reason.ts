import { SshDisconnectReason } from '@microsoft/dev-tunnels-ssh';

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
  const detail = printable(e.message || SshDisconnectReason[e.reason] || 'closed');
  return { failure, detail, text: failure ? `SSH protocol error: ${detail}` : `SSH session closed: ${detail}` };
}

/** Text from the network made safe for one log line or close reason. */
export function printable(text: string, max = 200): string {
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return clean.length <= max ? clean : `${clean.slice(0, max - 1)}…`;
}
