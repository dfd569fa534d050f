import * as z from 'zod';
import { Port, VmId } from '@airlock/shared/schemas';
import { DoctorReport } from '../../core/diagnostics/doctor-report.js';

// `airlock doctor` for the app's settings page: the same engine and the same report as the
// CLI's `--json` (its schema lives with the engine in core/diagnostics, zod only).
export {
  DoctorReport,
  DoctorCheck,
  DoctorVm,
  DOCTOR_CHECKS,
  DOCTOR_CODES,
  DOCTOR_REPORT_VERSION,
} from '../../core/diagnostics/doctor-report.js';

export const DoctorRun = z
  .object({
    /** One VM; omitted: every VM the user may use. */
    vm: VmId.optional(),
    /** One port, checked against the VM's policy and the grant and then connected to. */
    port: Port.optional(),
  })
  .strict();
export type DoctorRun = z.infer<typeof DoctorRun>;

export const DoctorResult = DoctorReport;
