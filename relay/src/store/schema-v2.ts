/**
 * Per-user login lockouts move from the relay's memory into the store, so the admin CLI (another
 * process) can see and clear them. `failures` is a JSON array of the recent failure times (ms).
 */
export const SCHEMA_V2_LOGIN_LOCKOUTS = `
CREATE TABLE login_lockouts (
  user_name TEXT PRIMARY KEY REFERENCES users (name),
  failures TEXT NOT NULL,
  locked_until TEXT
);
`;
