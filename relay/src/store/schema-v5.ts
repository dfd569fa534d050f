/**
 * The organisation root (issue 12). `org_state` holds what the relay serves of it — the anchor's
 * exact text and the newest revocation list — which no party believes without checking it
 * against the anchor fingerprint it pinned. Codes made on an admin workstation carry their
 * public credential chain; an enrollment keeps it until it completes, a device keeps its chain.
 */
export const SCHEMA_V5_ORG_ROOT = `
CREATE TABLE org_state (
  name TEXT PRIMARY KEY CHECK (name IN ('anchor', 'crl')),
  value TEXT NOT NULL,
  seq INTEGER,
  updated_at TEXT NOT NULL
);
ALTER TABLE one_time_codes ADD COLUMN org_chain TEXT;
ALTER TABLE pending_enrollments ADD COLUMN org_chain TEXT;
ALTER TABLE devices ADD COLUMN org_chain TEXT;
`;
