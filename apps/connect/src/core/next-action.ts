import type { EnrollmentError, StoredTokenError } from './identity/config-store.js';
import type { EnrollInputError } from './enrollment/enroll.js';
import type { ForwardError } from './forwards/forward-manager.js';
import type { RelayError } from './relay/relay-error.js';
import type { UserKeyError } from './identity/user-key-store.js';
import type { ChannelError, VmSessionError } from './session/types.js';

export type ConnectError =
  | RelayError
  | VmSessionError
  | ChannelError
  | ForwardError
  | UserKeyError
  | StoredTokenError
  | EnrollmentError
  | EnrollInputError;

/**
 * What the person should do next about a failure — one short sentence. The CLI prints it after
 * the error's message; the desktop app will show it under the error.
 */
export function nextStep(error: ConnectError): string | undefined {
  switch (error.code) {
    case 'relay_unreachable':
      return 'check the relay URL in your enrollment and that the relay is running';
    case 'relay_pin_mismatch':
      return 'do not continue; tell your admin — your enrollment pin does not match the relay you reached';
    case 'bad_relay_url':
      return 'use the https:// address your admin gave you with the enrollment code';
    case 'bad_enrollment_code':
      return 'copy the whole code your admin gave you (it starts with u1.)';
    case 'not_enrolled':
      return 'enroll this device with `airlock enroll <relay-url> <code>` (ask your admin for a code)';
    case 'not_logged_in':
    case 'unauthenticated':
    case 'token_expired':
    case 'certificate_mismatch':
      return 'run `airlock login`';
    case 'certificate_required':
      return 'this relay wants a newer Connect, or something between you and the relay strips TLS client certificates';
    case 'login_failed':
      return 'check that this device is still enrolled (ask your admin), or enroll it again';
    case 'user_disabled':
    case 'revoked':
      return 'ask your admin';
    case 'totp_failed':
    case 'totp_reused':
    case 'rate_limited':
      // The relay's message already says what to do (wait for the next code, ask an admin…).
      return undefined;
    case 'enrollment_code_rejected':
      return 'ask your admin for a new enrollment code';
    case 'enrollment_failed':
      return error.voided
        ? 'ask your admin for a new enrollment code'
        : 'try the next code from your authenticator app';
    case 'vm_not_found':
      return 'run `airlock vms` to see the VMs you can reach';
    case 'vm_offline':
    case 'agent_unavailable':
      // The message says the agent is not connected; this says what to do about it.
      return 'start the VM or its agent, or ask an admin';
    case 'agent_refused':
      return 'ask an admin to check the agent log for this session id';
    case 'ticket_rejected':
      return 'try again; if it keeps failing, check that your clock is right and ask an admin to check the relay log';
    case 'session_refused':
      return 'try again; if it keeps failing, ask an admin to check the relay log';
    case 'auth_failed':
      return 'run `airlock login` again; if it keeps failing, ask an admin to check the agent log for this session id';
    case 'host_key_mismatch':
      return 'do not continue; report this to your admin with the session id';
    case 'protocol_error':
      return "try again; if it keeps happening, give your admin the session id: the VM's agent, or something between you and it, is faulty or tampered with";
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
      return 'enroll this device with `airlock enroll <relay-url> <code>`, or restore a backup (`airlock backup import`)';
    case 'wrong_password':
      return 'if you forgot it, restore a backup with `airlock backup import <file> --force`';
    case 'user_key_unencrypted':
      return 'move it away, then run `airlock enroll` or `airlock backup import <file>`';
    case 'user_key_exists':
    case 'user_key_unreadable':
      return 'fix or move the key file (AIRLOCK_HOME sets the folder)';
    case 'bad_response':
    case 'http_error':
      return 'check that the relay URL points at an Airlock relay of a compatible version';
    case 'channel_limit':
      return 'wait for some connections to finish, or open fewer at once';
    case 'request_refused':
      // The agent's own explanation is in the message; only the VM's admin can act on it.
      if (error.agentSays) return "tell the VM's admin, with the session id";
      return 'ask an admin to check the agent log for this session id';
    case 'channel_refused':
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
