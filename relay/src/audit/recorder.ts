import type { AuditEntry, AuditEventInput } from '../store/types.js';

/**
 * Where security events go. Callers depend on this alone; `AuditLog` is the real one. `record`
 * never throws: a failure to audit is logged by the recorder, and must not crash a session.
 */
export interface AuditRecorder {
  record(event: AuditEventInput): Promise<AuditEntry | undefined>;
}
