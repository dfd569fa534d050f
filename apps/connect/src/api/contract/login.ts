import * as z from 'zod';
import { TotpCode } from '@airlock/shared/schemas';

export const LoginState = z.discriminatedUnion('state', [
  z.object({ state: z.literal('not_enrolled') }),
  z.object({ state: z.literal('logged_out'), user: z.string(), relayUrl: z.string() }),
  z.object({
    state: z.enum(['logged_in', 'expired']),
    user: z.string(),
    relayUrl: z.string(),
    /** ISO time; the app counts down to it. */
    expiresAt: z.string(),
  }),
]);
export type LoginState = z.infer<typeof LoginState>;

export const LoginSubmit = z
  .object({
    /** Omitted: unlock with what this device remembers (keychain); fails with `password_needed` if nothing is. */
    password: z.string().min(1).max(1024).optional(),
    totp: TotpCode,
    /** Remember the unlock on this device after a password unlock. */
    remember: z.boolean().optional(),
  })
  .strict();
export type LoginSubmit = z.infer<typeof LoginSubmit>;

export const LoginDone = z.object({
  user: z.string(),
  expiresAt: z.string(),
  unlockedWith: z.enum(['password', 'keychain']),
});
export type LoginDone = z.infer<typeof LoginDone>;
