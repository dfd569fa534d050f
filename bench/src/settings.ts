import { existsSync, statSync } from 'node:fs';

/**
 * The bench programs' settings from the environment (`BENCH_MB`, `LOAD_SESSIONS`, …). A value
 * that is not what the setting takes is refused with what was wrong, before anything starts:
 * `Number('abc')` would otherwise run the bench on NaN, and a misspelt section would silently
 * measure nothing.
 */
export type Setting<T> = { ok: true; value: T } | { ok: false; message: string };

export interface NumberSpec {
  name: string;
  default: number;
  min: number;
  max: number;
  /** Whole numbers only (counts); otherwise decimals are taken too (seconds, rates). */
  integer?: boolean;
}

export function numberSetting(raw: string | undefined, spec: NumberSpec): Setting<number> {
  if (raw === undefined || raw.trim() === '') return { ok: true, value: spec.default };
  const n = Number(raw.trim());
  const kind = spec.integer ? 'a whole number' : 'a number';
  if (!Number.isFinite(n) || (spec.integer && !Number.isInteger(n)) || n < spec.min || n > spec.max)
    return { ok: false, message: `${spec.name} must be ${kind} from ${spec.min} to ${spec.max}, not "${raw}"` };
  return { ok: true, value: n };
}

/** A comma-separated list of names, each one of `known`; unset means all of them. */
export function listSetting(name: string, raw: string | undefined, known: readonly string[]): Setting<Set<string>> {
  if (raw === undefined || raw.trim() === '') return { ok: true, value: new Set(known) };
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = names.filter((s) => !known.includes(s));
  if (unknown.length > 0 || names.length === 0)
    return {
      ok: false,
      message: `${name} names sections to run, from: ${known.join(', ')}; not "${unknown.join(',') || raw}"`,
    };
  return { ok: true, value: new Set(names) };
}

/** A JSON object, or `{}` when unset. */
export function jsonObjectSetting(name: string, raw: string | undefined): Setting<Record<string, unknown>> {
  if (raw === undefined || raw.trim() === '') return { ok: true, value: {} };
  try {
    const v: unknown = JSON.parse(raw);
    if (v !== null && typeof v === 'object' && !Array.isArray(v))
      return { ok: true, value: v as Record<string, unknown> };
  } catch {
    // said below
  }
  return { ok: false, message: `${name} must be a JSON object, such as '{"maxPendingSessionsPerUser": 64}'` };
}

/** A path to an existing file, or undefined when unset. */
export function fileSetting(name: string, raw: string | undefined): Setting<string | undefined> {
  if (raw === undefined || raw.trim() === '') return { ok: true, value: undefined };
  if (existsSync(raw) && statSync(raw).isFile()) return { ok: true, value: raw };
  return { ok: false, message: `${name} must name an existing file; there is none at "${raw}"` };
}

/** The value, or the program ends here with the message and exit code 2 (nothing was started). */
export function orExit<T>(program: string, s: Setting<T>): T {
  if (s.ok) return s.value;
  console.error(`${program}: ${s.message}`);
  process.exit(2);
}

/** `numberSetting` for the environment variable `spec.name`, or exit 2. */
export function envNumber(program: string, spec: NumberSpec): number {
  return orExit(program, numberSetting(process.env[spec.name], spec));
}
