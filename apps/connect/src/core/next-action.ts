import type { EnrollmentError, StoredTokenError } from './identity/config-store.js';
import type { EnrollInputError } from './enrollment/enroll.js';
import type { ForwardError } from './forwards/forward-manager.js';
import type { RelayError } from './relay/relay-error.js';
import type { UserKeyError } from './identity/user-key-store.js';
import type { ChannelError, VmSessionError } from './session/types.js';
import type { NextAction } from './next-actions.js';
import type { LoginError } from './login/login-service.js';
import type { EnrollBeginError, EnrollConfirmError, EnrollPrepareError } from './enrollment/enrollment-transaction.js';

export type ConnectError =
  | RelayError
  | VmSessionError
  | ChannelError
  | ForwardError
  | UserKeyError
  | StoredTokenError
  | EnrollmentError
  | EnrollInputError
  | LoginError
  | EnrollPrepareError
  | EnrollBeginError
  | EnrollConfirmError;

export { NEXT_ACTIONS, type NextAction } from './next-actions.js';

export function nextAction(error: ConnectError): NextAction {
  switch (error.code) {
    case 'relay_unreachable':
      return 'check_relay';
    case 'relay_pin_mismatch':
      return 'report_relay_pin_mismatch';
    case 'bad_relay_url':
      return 'fix_relay_url';
    case 'bad_enrollment_code':
      return 'fix_enrollment_code';
    case 'not_enrolled':
      return 'enroll';
    case 'already_enrolled':
      return 'log_in';
    case 'bad_totp_uri':
      return 'check_relay_version';
    case 'not_logged_in':
    case 'login_required':
    case 'unauthenticated':
    case 'token_expired':
    case 'certificate_mismatch':
      return 'log_in';
    case 'certificate_required':
      return 'update_connect';
    case 'login_failed':
      return 'check_enrollment';
    case 'user_disabled':
    case 'revoked':
      return 'ask_admin';
    case 'totp_failed':
    case 'totp_reused':
    case 'rate_limited':
      // The relay's message already says what to do (wait for the next code, ask an admin…).
      return 'none';
    case 'enrollment_code_rejected':
      return 'new_enrollment_code';
    case 'enrollment_failed':
      return error.voided ? 'new_enrollment_code' : 'next_totp_code';
    case 'vm_not_found':
      return 'list_vms';
    case 'vm_offline':
    case 'agent_unavailable':
      // The message says the agent is not connected; this says what to do about it.
      return 'start_vm';
    case 'agent_refused':
    case 'channel_refused':
      return 'admin_check_agent_log';
    case 'ticket_rejected':
      return 'retry_check_clock';
    case 'session_refused':
      return 'retry_check_relay_log';
    case 'auth_failed':
      return 'log_in_again';
    case 'host_key_mismatch':
      return 'report_host_key_mismatch';
    case 'protocol_error':
      return 'report_protocol_error';
    case 'connect_timeout':
    case 'session_closed':
      return 'retry_check_logs';
    case 'port_not_allowed':
      return 'choose_allowed_port';
    case 'port_unreachable':
      return 'start_service';
    case 'local_port_in_use':
    case 'local_bind_failed':
      return 'choose_local_port';
    case 'no_user_key':
      return 'enroll_or_restore_backup';
    case 'wrong_password':
      return 'restore_backup_if_forgotten';
    case 'user_key_unencrypted':
      return 'move_unencrypted_key';
    case 'user_key_exists':
    case 'user_key_unreadable':
      return 'fix_key_file';
    case 'bad_response':
    case 'http_error':
      return 'check_relay_version';
    case 'channel_limit':
      return 'fewer_connections';
    case 'request_refused':
      // The agent's own explanation is in the message; only the VM's admin can act on it.
      return error.agentSays ? 'tell_vm_admin' : 'admin_check_agent_log';
    default:
      return 'none';
  }
}

/** `message` plus, where known, the session id — what helpdesk needs to follow a failure. */
export function describeError(error: ConnectError): string {
  const sid = 'sessionId' in error && error.sessionId ? ` [session ${error.sessionId}]` : '';
  return `${error.message}${sid}`;
}
