import type { StoredTokenError } from './config-store.js';
import type { ForwardError } from './forward-manager.js';
import type { RelayError } from './relay-client.js';
import type { UserKeyError } from './user-key-store.js';
import type { ChannelError, VmSessionError } from './vm-session.js';

export type ConnectError = RelayError | VmSessionError | ChannelError | ForwardError | UserKeyError | StoredTokenError;

/**
 * What the person should do next about a failure — one short sentence. The CLI prints it after
 * the error's message; the desktop app will show it under the error.
 */
export function nextStep(error: ConnectError): string | undefined {
  switch (error.code) {
    case 'relay_unreachable':
      return 'check the relay URL (`airlock login --relay <url>`) and that the relay is running';
    case 'not_logged_in':
    case 'unauthenticated':
    case 'token_expired':
      return 'run `airlock login`';
    case 'login_failed':
      return 'check the user name, and that an admin registered your public key (`airlock key show`)';
    case 'vm_not_found':
      return 'run `airlock vms` to see the VMs you can reach';
    case 'vm_offline':
    case 'agent_unavailable':
      return "the VM's agent is not connected to the relay; start the VM or its agent, or ask an admin";
    case 'agent_refused':
      return 'ask an admin to check the agent log for this session id';
    case 'ticket_rejected':
      return 'try again; if it keeps failing, check that your clock is right and ask an admin to check the relay log';
    case 'session_refused':
      return 'try again; if it keeps failing, ask an admin to check the relay log';
    case 'auth_failed':
      return 'ask an admin to check that your registered public key matches `airlock key show`';
    case 'host_key_mismatch':
      return 'do not continue; report this to your admin with the session id';
    case 'connect_timeout':
    case 'session_closed':
      return 'try again; if it keeps failing, ask an admin to check the relay and agent logs for this session id';
    case 'port_not_allowed':
      return 'forward one of the allowed ports, or ask an admin to allow this one';
    case 'port_unreachable':
      return 'start the service inside the VM, or check the port number';
    case 'local_port_in_use':
    case 'local_bind_failed':
      return 'choose another local port, or 0 for any free port';
    case 'no_user_key':
      return 'run `airlock login` to create one';
    case 'user_key_exists':
    case 'user_key_unreadable':
      return 'fix or move the key file (AIRLOCK_HOME sets the folder)';
    case 'bad_response':
    case 'http_error':
      return 'check that the relay URL points at an Airlock relay of a compatible version';
    case 'channel_refused':
    case 'request_refused':
      return 'ask an admin to check the agent log for this session id';
    default:
      return undefined;
  }
}

/** `message` plus, where known, the session id — what helpdesk needs to follow a failure. */
export function describeError(error: ConnectError): string {
  const sid = 'sessionId' in error && error.sessionId ? ` [session ${error.sessionId}]` : '';
  return `${error.message}${sid}`;
}
