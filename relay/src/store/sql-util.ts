import * as z from 'zod';
import { StoreError } from './types.js';

/** Where the store reads the time; tests pass a fixed clock. */
export type Clock = () => Date;

/** `{ key: value }`, or `{}` when the column is NULL, so records carry no `undefined`/`null` fields. */
export function opt<K extends string, V>(key: K, value: V | null | undefined): { [P in K]?: V } {
  return (value === null || value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

export function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

/** better-sqlite3 reports constraint failures as SqliteError with an extended result code. */
function sqliteCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/**
 * Turns a constraint violation into the StoreError a caller can act on, with a message for people
 * instead of SQLite's. Anything else (a bug, a full disk) is returned unchanged to be rethrown.
 */
export function storeErrorFrom(err: unknown, messages: { exists?: string; notFound?: string }): unknown {
  const code = sqliteCode(err);
  if ((code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') && messages.exists) {
    return new StoreError('exists', messages.exists);
  }
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY' && messages.notFound) {
    return new StoreError('not_found', messages.notFound);
  }
  return err;
}

const port = z.number().int().min(1).max(65535);
export const portsSchema = z.array(port);
export const textSchema = z.string().min(1).max(4096);
/** Any instant Date.parse accepts, stored in one form so that TEXT comparison orders instants. */
export const instantSchema = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)), 'not a valid ISO-8601 time')
  .transform((s) => new Date(s).toISOString());
export const sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'not a lowercase hex sha256');

/** Validates a caller's input; a bad value is an expected failure ('invalid'), named for people. */
export function check<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${what}.${issue.path.join('.')}` : what;
    throw new StoreError('invalid', `invalid ${where}: ${issue?.message ?? 'bad value'}`);
  }
  return r.data;
}
