/**
 * One counter that moves with every change that can take access away: a user disabled, a device
 * or agent credential revoked, a grant changed or removed, a VM's ports changed or the VM
 * removed, a session kill requested. Triggers bump it inside the writing transaction, whoever
 * writes (the relay, the admin CLI in another process, a future tool), so the relay's guard can
 * poll one row each second and re-check live sessions only when it moved — instead of looking up
 * every live session each second. Writes that take nothing away (logins touching a device, TOTP
 * steps, sessions opening and ending) leave it alone: a busy relay must not re-check everything
 * at every login.
 */
const BUMP = 'UPDATE revocation_epoch SET epoch = epoch + 1 WHERE id = 1;';

/** [trigger name, when it fires, an extra condition] — one row per change that can revoke. */
const REVOKING_CHANGES: ReadonlyArray<[string, string, string?]> = [
  ['revocation_user_status', 'AFTER UPDATE OF status ON users', 'NEW.status IS NOT OLD.status'],
  ['revocation_user_deleted', 'AFTER DELETE ON users'],
  ['revocation_device_revoked', 'AFTER UPDATE OF revoked_at ON devices', 'NEW.revoked_at IS NOT OLD.revoked_at'],
  ['revocation_device_deleted', 'AFTER DELETE ON devices'],
  ['revocation_vm_ports', 'AFTER UPDATE OF ports ON vms', 'NEW.ports IS NOT OLD.ports'],
  ['revocation_vm_deleted', 'AFTER DELETE ON vms'],
  [
    'revocation_credential_revoked',
    'AFTER UPDATE OF revoked_at ON agent_credentials',
    'NEW.revoked_at IS NOT OLD.revoked_at',
  ],
  ['revocation_credential_deleted', 'AFTER DELETE ON agent_credentials'],
  ['revocation_grant_changed', 'AFTER UPDATE ON grants'],
  ['revocation_grant_removed', 'AFTER DELETE ON grants'],
  [
    'revocation_session_kill',
    'AFTER UPDATE OF kill_requested_at ON sessions',
    'NEW.kill_requested_at IS NOT OLD.kill_requested_at',
  ],
];

export const SCHEMA_V4_REVOCATION_EPOCH = `
CREATE TABLE revocation_epoch (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  epoch INTEGER NOT NULL
);
INSERT INTO revocation_epoch (id, epoch) VALUES (1, 0);
${REVOKING_CHANGES.map(([name, on, when]) => `CREATE TRIGGER ${name} ${on}${when ? ` WHEN ${when}` : ''} BEGIN ${BUMP} END;`).join('\n')}
`;
