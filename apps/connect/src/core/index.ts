// Connect's core: everything the CLI, the desktop app and browser mode share. Node only; no
// Electron, React, HTTP server or terminal code (eslint keeps it so).
export * from './paths.js';
export * from './logger.js';
export * from './next-action.js';
// identity: the device key at rest, the config, where an unlock may be remembered
export * from './identity/config-store.js';
export * from './identity/user-key-store.js';
export * from './identity/user-key-vault.js';
export * from './identity/secret-cache.js';
export * from './identity/keytar-secret-cache.js';
export * from './identity/password-rules.js';
export * from './identity/prompter.js';
// enrollment and login
export * from './enrollment/enroll.js';
export * from './enrollment/enrollment-transaction.js';
export * from './enrollment/totp-setup.js';
export * from './login/login.js';
export * from './login/login-attempt.js';
export * from './login/login-service.js';
// the relay
export * from './relay/relay-endpoint.js';
export * from './relay/relay-client.js';
export * from './relay/relay-http.js';
export type { RelayError } from './relay/relay-error.js';
export { findPinMismatch, relayConnectFailure } from './relay/relay-failure.js';
// sessions to VMs
export * from './session/channel-streams.js';
export * from './session/types.js';
export * from './session/vm-session.js';
export * from './session/vm-session-connect.js';
export * from './session/org-trust.js';
export * from './org/vm-certificates.js';
export * from './session/terminal.js';
export { dataSocketUrl, socketEndError, type SocketEnd } from './session/data-socket.js';
export { portNotAllowed, portUnreachable } from './session/channel-opener.js';
// forwards
export * from './forwards/forward-manager.js';
export * from './forwards/forward-supervisor.js';
export * from './forwards/burst-notices.js';
