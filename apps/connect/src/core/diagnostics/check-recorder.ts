import { performance } from 'node:perf_hooks';
import type { DoctorCheck, DoctorCheckName, DoctorCode, DoctorReport } from './doctor-report.js';

/** What a check found, before it is named and timed. */
export type CheckResult = Omit<DoctorCheck, 'check' | 'durationMs' | 'vm' | 'port'>;

export const pass = (message: string, extra: Partial<CheckResult> = {}): CheckResult => ({
  status: 'pass',
  message,
  ...extra,
});

export const fail = (
  code: DoctorCode,
  message: string,
  hint: string,
  extra: Partial<CheckResult> = {},
): CheckResult => ({
  status: 'fail',
  code,
  message,
  hint,
  ...extra,
});

export const warn = (code: DoctorCode, message: string, hint: string): CheckResult => ({
  status: 'warn',
  code,
  message,
  hint,
});

export interface CheckScope {
  vm?: string;
  port?: number;
}

/** Collects the checks in the order they ran, each timed, and where a chain stopped. */
export class CheckRecorder {
  readonly checks: DoctorCheck[] = [];
  readonly stopped: DoctorReport['stopped'] = [];

  /** Runs and records one check; a check that throws is a bug, recorded as such rather than lost. */
  async run(check: DoctorCheckName, body: () => Promise<CheckResult>, scope: CheckScope = {}): Promise<DoctorCheck> {
    const started = performance.now();
    let result: CheckResult;
    try {
      result = await body();
    } catch (e) {
      result = fail(
        'internal',
        `the ${check} check broke: ${(e as Error).message}`,
        'this is a bug in Connect: please report it with `airlock support-bundle`',
      );
    }
    return this.add(check, result, scope, performance.now() - started);
  }

  /** Records a check whose answer came with another's (one relay call answers several). */
  add(check: DoctorCheckName, result: CheckResult, scope: CheckScope = {}, durationMs = 0): DoctorCheck {
    const recorded: DoctorCheck = {
      check,
      ...result,
      ...(scope.vm !== undefined ? { vm: scope.vm } : {}),
      ...(scope.port !== undefined ? { port: scope.port } : {}),
      durationMs: Math.round(durationMs * 10) / 10,
    };
    this.checks.push(recorded);
    return recorded;
  }

  stop(after: DoctorCheckName, reason: string, vm?: string): void {
    this.stopped.push({ after, reason, ...(vm !== undefined ? { vm } : {}) });
  }

  get ok(): boolean {
    return this.checks.every((c) => c.status !== 'fail');
  }
}
