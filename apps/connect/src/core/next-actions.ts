// The next-step codes alone, with no imports: the API's contract (browser-safe) uses them too.

/**
 * What the person should do next about a failure, as a code: each front end words it (the CLI
 * names its commands, the app offers a button). `none`: the message already says it all.
 */
export const NEXT_ACTIONS = [
  'none',
  'check_relay',
  'report_relay_pin_mismatch',
  'fix_relay_url',
  'fix_enrollment_code',
  'enroll',
  'log_in',
  'log_in_again',
  'update_connect',
  'check_enrollment',
  'ask_admin',
  'new_enrollment_code',
  'next_totp_code',
  'list_vms',
  'start_vm',
  'admin_check_agent_log',
  'tell_vm_admin',
  'retry_check_clock',
  'retry_check_relay_log',
  'retry_check_logs',
  'report_host_key_mismatch',
  'report_protocol_error',
  'choose_allowed_port',
  'start_service',
  'choose_local_port',
  'enroll_or_restore_backup',
  'restore_backup_if_forgotten',
  'move_unencrypted_key',
  'fix_key_file',
  'check_relay_version',
  'fewer_connections',
] as const;
export type NextAction = (typeof NEXT_ACTIONS)[number];
