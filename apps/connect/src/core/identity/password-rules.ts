import { createHash, timingSafeEqual } from 'node:crypto';

/** The rules a new key (or backup) password must meet; front ends show them before asking. */
export const MIN_PASSWORD_LENGTH = 8;

/** Why `password` is not acceptable as a new password, or undefined when it is. */
export function passwordWeakness(password: string): string | undefined {
  if (password.trim() === '') return 'the password is empty';
  if ([...password].length < MIN_PASSWORD_LENGTH)
    return `the password is too short (at least ${MIN_PASSWORD_LENGTH} characters)`;
  return undefined;
}

/** Whether the two typings of a new password are the same (compared in constant time). */
export function sameSecret(a: string, b: string): boolean {
  const h = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(h(a), h(b));
}
