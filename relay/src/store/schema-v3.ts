/**
 * Whether each VM's agent is connected, and since when, in the store rather than only in the
 * relay's memory: `airlock-relay explain` (another process) can then say "agent offline since …",
 * and the reason its control link last went down. No foreign key on the VM: like sessions, it
 * is history about a VM and a restart must not depend on it.
 */
export const SCHEMA_V3_AGENT_PRESENCE = `
CREATE TABLE agent_presence (
  vm_id TEXT PRIMARY KEY,
  online INTEGER NOT NULL CHECK (online IN (0, 1)),
  since TEXT NOT NULL,
  host_key_fingerprint TEXT,
  version TEXT,
  last_offline_reason TEXT
);
`;
