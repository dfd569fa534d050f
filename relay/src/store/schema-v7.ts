/**
 * An administrator's requests for the running relay's list of held-back source addresses, and
 * the relay's answers. Like the lockouts themselves (schema-v6.ts), the list lives only in the
 * relay's memory: the admin CLI writes a request, and the relay, which reads this table once a
 * second, writes the list (JSON) into the request's row. Nothing is written unless asked.
 */
export const SCHEMA_V7_SOURCE_LISTS = `
CREATE TABLE source_lists (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  requested_at TEXT NOT NULL,
  answered_at TEXT,
  answer TEXT
);
`;
