import { nextAction, type ConnectError, type NextAction } from '../core/next-action.js';

/** The CLI's words for each next step: one short sentence, naming `airlock` commands where one helps. */
const CLI_NEXT_STEP: Record<NextAction, string | undefined> = {
  none: undefined,
  check_relay: 'check the relay URL in your enrollment and that the relay is running',
  report_relay_pin_mismatch:
    'do not continue; tell your admin — your enrollment pin does not match the relay you reached',
  fix_relay_url: 'use the https:// address your admin gave you with the enrollment code',
  fix_enrollment_code: 'copy the whole code your admin gave you (it starts with u1.)',
  enroll: 'enroll this device with `airlock enroll <relay-url> <code>` (ask your admin for a code)',
  log_in: 'run `airlock login`',
  log_in_again:
    'run `airlock login` again; if it keeps failing, ask an admin to check the agent log for this session id',
  update_connect:
    'this relay wants a newer Connect, or something between you and the relay strips TLS client certificates',
  check_enrollment: 'check that this device is still enrolled (ask your admin), or enroll it again',
  ask_admin: 'ask your admin',
  new_enrollment_code: 'ask your admin for a new enrollment code',
  next_totp_code: 'try the next code from your authenticator app',
  list_vms: 'run `airlock vms` to see the VMs you can reach',
  start_vm: 'start the VM or its agent, or ask an admin',
  admin_check_agent_log: 'ask an admin to check the agent log for this session id',
  tell_vm_admin: "tell the VM's admin, with the session id",
  retry_check_clock:
    'try again; if it keeps failing, check that your clock is right and ask an admin to check the relay log',
  retry_check_relay_log: 'try again; if it keeps failing, ask an admin to check the relay log',
  retry_check_logs:
    'try again; if it keeps failing, ask an admin to check the relay and agent logs for this session id',
  report_host_key_mismatch: 'do not continue; report this to your admin with the session id',
  report_protocol_error:
    "try again; if it keeps happening, give your admin the session id: the VM's agent, or something between you and it, is faulty or tampered with",
  choose_allowed_port: 'forward one of the allowed ports, or ask an admin to allow this one',
  start_service: 'start the service inside the VM, or check the port number',
  choose_local_port: 'choose another local port, or 0 for any free port',
  enroll_or_restore_backup:
    'enroll this device with `airlock enroll <relay-url> <code>`, or restore a backup (`airlock backup import`)',
  restore_backup_if_forgotten: 'if you forgot it, restore a backup with `airlock backup import <file> --force`',
  move_unencrypted_key: 'move it away, then run `airlock enroll` or `airlock backup import <file>`',
  fix_key_file: 'fix or move the key file (AIRLOCK_HOME sets the folder)',
  check_relay_version: 'check that the relay URL points at an Airlock relay of a compatible version',
  fewer_connections: 'wait for some connections to finish, or open fewer at once',
};

/** What to do next about `error`, in the CLI's words (undefined when the message says it). */
export function nextStep(error: ConnectError): string | undefined {
  return CLI_NEXT_STEP[nextAction(error)];
}
