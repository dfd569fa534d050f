/**
 * The rules for names that appear in URLs, logs and file names (keep them boring), without zod:
 * the CLI checks a VM name while parsing its command line, and `airlock --help` should not load a
 * schema library to print its text (zod is ~25 ms of its start). The zod schemas are built from
 * these (schemas.ts), so the two never disagree.
 */
export interface NameRule {
  pattern: RegExp;
  /** What a name must be, said after "bad <thing> name …:". */
  message: string;
}

export const VM_ID_RULE: NameRule = {
  pattern: /^[a-z0-9][a-z0-9-]{0,62}$/,
  message: 'must be 1–63 lowercase letters, digits or dashes, starting with a letter or digit',
};

export const USER_NAME_RULE: NameRule = {
  pattern: /^[a-z0-9][a-z0-9._-]{0,62}$/,
  message: 'must be 1–63 lowercase letters, digits, dots, dashes or underscores',
};
