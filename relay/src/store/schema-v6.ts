/**
 * An administrator's requests to release a source address from the relay's per-source lockouts
 * and request budgets. Those live in the running relay's memory (anonymous traffic must not cost
 * a write), so the admin CLI, another process on the same file, cannot reach them: it writes a
 * request here, and the relay, which reads this table once a second, applies it. `network` is
 * the address as the relay counts it (an IPv4 address or an IPv6 /64), or '*' for every source.
 */
export const SCHEMA_V6_SOURCE_RELEASES = `
CREATE TABLE source_releases (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  network TEXT NOT NULL,
  requested_at TEXT NOT NULL
);
`;
