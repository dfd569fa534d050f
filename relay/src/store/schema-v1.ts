/**
 * The first schema. Plain column types (TEXT, INTEGER) and standard SQL only, so the PostgreSQL
 * port is a transcription: times are ISO-8601 UTC TEXT, lists and free-form data are JSON TEXT,
 * and `user` (reserved in PostgreSQL) is spelled `user_name`.
 */
export const SCHEMA_V1 = `
CREATE TABLE users (
  name TEXT PRIMARY KEY,
  status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  totp_secret TEXT,
  totp_confirmed_at TEXT,
  totp_last_used_step INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE devices (
  id TEXT PRIMARY KEY,
  user_name TEXT NOT NULL REFERENCES users (name),
  name TEXT NOT NULL,
  public_key_pem TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  created_at TEXT NOT NULL,
  last_login_at TEXT,
  revoked_at TEXT
);
CREATE INDEX devices_user ON devices (user_name);
CREATE INDEX devices_fingerprint ON devices (fingerprint);

CREATE TABLE vms (
  id TEXT PRIMARY KEY,
  ports TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE agent_credentials (
  id TEXT PRIMARY KEY,
  vm_id TEXT NOT NULL REFERENCES vms (id),
  secret_sha256 TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  revoked_at TEXT
);
CREATE INDEX agent_credentials_vm ON agent_credentials (vm_id);

CREATE TABLE grants (
  user_name TEXT NOT NULL REFERENCES users (name),
  vm_id TEXT NOT NULL REFERENCES vms (id),
  ports TEXT,
  expires_at TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (user_name, vm_id)
);
CREATE INDEX grants_vm ON grants (vm_id);

CREATE TABLE one_time_codes (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('user-enrollment', 'agent-enrollment')),
  subject TEXT NOT NULL,
  secret_sha256 TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  used_at TEXT
);
CREATE INDEX one_time_codes_subject ON one_time_codes (kind, subject);

CREATE TABLE pending_enrollments (
  id TEXT PRIMARY KEY,
  user_name TEXT NOT NULL REFERENCES users (name),
  device_name TEXT NOT NULL,
  public_key_pem TEXT NOT NULL,
  new_totp_secret TEXT,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  failed_attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX pending_enrollments_user ON pending_enrollments (user_name);

CREATE TABLE api_clients (
  client_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  secret_sha256 TEXT NOT NULL,
  scopes TEXT NOT NULL,
  created_at TEXT NOT NULL,
  revoked_at TEXT
);

-- No foreign keys: a session is history and must outlive what it names.
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  user_name TEXT NOT NULL,
  device_id TEXT NOT NULL,
  vm_id TEXT NOT NULL,
  ports TEXT NOT NULL,
  created_at TEXT NOT NULL,
  opened_at TEXT,
  ended_at TEXT,
  end_reason TEXT,
  bytes_from_client INTEGER NOT NULL DEFAULT 0,
  bytes_from_agent INTEGER NOT NULL DEFAULT 0,
  kill_requested_at TEXT,
  kill_requested_by TEXT
);
CREATE INDEX sessions_ended ON sessions (ended_at);
CREATE INDEX sessions_user ON sessions (user_name);
CREATE INDEX sessions_vm ON sessions (vm_id);
CREATE INDEX sessions_created ON sessions (created_at);

CREATE TABLE audit_events (
  seq INTEGER PRIMARY KEY,
  ts TEXT NOT NULL,
  type TEXT NOT NULL,
  actor TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'info')),
  sid TEXT,
  source TEXT,
  data TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_events_type ON audit_events (type);
CREATE INDEX audit_events_actor ON audit_events (actor);
CREATE INDEX audit_events_sid ON audit_events (sid);
CREATE INDEX audit_events_ts ON audit_events (ts);

CREATE TABLE audit_checkpoints (
  id INTEGER PRIMARY KEY,
  seq INTEGER NOT NULL REFERENCES audit_events (seq),
  hash TEXT NOT NULL,
  ts TEXT NOT NULL,
  signature TEXT NOT NULL,
  public_key_pem TEXT NOT NULL
);
CREATE INDEX audit_checkpoints_seq ON audit_checkpoints (seq);

CREATE TABLE audit_sink_cursors (
  sink TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  updated_at TEXT NOT NULL
);
`;
