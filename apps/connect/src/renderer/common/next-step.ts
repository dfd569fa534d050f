import type { ApiFailure, NextAction } from '../../api/contract/index.js';

/**
 * The app's words for each next step (the CLI names its commands instead, cli/next-step.ts).
 * Undefined: the message already says it all.
 */
const APP_NEXT_STEP: Record<NextAction, string | undefined> = {
  none: undefined,
  check_relay: 'Check the relay address and that the relay is running (Settings shows both), then try again.',
  report_relay_pin_mismatch:
    'Do not continue. Tell your IT contact: the relay you reached does not match the pin in your enrollment.',
  fix_relay_url: 'Use the https:// address your IT contact gave you with the enrollment code.',
  fix_enrollment_code: 'Copy the whole code your IT contact gave you (it starts with u1.).',
  enroll: 'Enroll this device with a one-time code from your IT contact.',
  log_in: 'Log in.',
  log_in_again: 'Log in again; if it keeps failing, give your admin the session id below.',
  update_connect:
    'This relay wants a newer Connect, or something between you and the relay strips TLS client certificates.',
  check_enrollment: 'Check with your admin that this device is still enrolled, or enroll it again.',
  ask_admin: 'Ask your admin.',
  new_enrollment_code: 'Ask your IT contact for a new one-time code.',
  next_totp_code: 'Wait for the next code in your authenticator app and type it.',
  list_vms: 'Pick a VM from the list.',
  start_vm: 'Start the VM or its agent, or ask an admin.',
  admin_check_agent_log: 'Ask an admin to check the agent log for the session id below.',
  tell_vm_admin: "Tell the VM's admin, with the session id below.",
  retry_check_clock:
    "Try again; if it keeps failing, check this computer's clock and ask an admin to check the relay log.",
  retry_check_relay_log: 'Try again; if it keeps failing, ask an admin to check the relay log.',
  retry_check_logs:
    'Try again; if it keeps failing, ask an admin to check the relay and agent logs for the session id below.',
  report_host_key_mismatch: 'Do not continue. Report this to your admin with the session id below.',
  report_protocol_error:
    "Try again; if it keeps happening, give your admin the session id below: the VM's agent, or something between you and it, is faulty or tampered with.",
  choose_allowed_port: 'Forward one of the ports shown for this VM, or ask an admin to allow this one.',
  start_service: 'Start the service inside the VM, or check the port number.',
  choose_local_port: 'Choose another local port, or leave it empty for a free one.',
  enroll_or_restore_backup: 'Enroll this device again, or restore a backup of your key with the command line.',
  restore_backup_if_forgotten: 'If you forgot it, restore a backup of your key with the command line.',
  move_unencrypted_key: 'Move the key file away, then enroll again.',
  fix_key_file: 'Fix or move the key file (Settings shows the folder).',
  check_relay_version: 'Check that the relay address points at an Airlock relay of a compatible version.',
  fewer_connections: 'Wait for some connections to finish, or open fewer at once.',
};

export function nextStepText(failure: ApiFailure): string | undefined {
  return APP_NEXT_STEP[failure.action];
}

/**
 * The message without a closing "; log in again…" where the app says so itself: the relay's and
 * the CLI's words end with that advice, which the app gives as its next step (and a button).
 */
export function withoutLoginAdvice(failure: ApiFailure): string {
  if (failure.action !== 'log_in' && failure.action !== 'log_in_again') return failure.message;
  return failure.message.replace(/;\s*log in (?:again|first)\b[^;]*$/i, '');
}

/** The message as a sentence: the CLI's words start lower-case and have no full stop. */
export function sentence(message: string): string {
  const s = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}
