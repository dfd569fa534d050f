import * as z from 'zod';
import { DeviceName, TotpCode } from '@airlock/shared/schemas';
import { HandleId } from './common.js';

export const EnrollStart = z
  .object({
    relayUrl: z.string().min(1).max(2048),
    /** The one-time code from the admin (`u1.…`); spaces and line breaks are ignored. */
    code: z.string().min(1).max(512),
    deviceName: DeviceName.optional(),
    /** Replace this device's enrollment and key (after a revocation). */
    replace: z.boolean().optional(),
  })
  .strict();
export type EnrollStart = z.infer<typeof EnrollStart>;

export const PasswordRules = z.object({ minLength: z.number().int() });
export type PasswordRules = z.infer<typeof PasswordRules>;

export const EnrollStarted = z.object({
  enrollmentId: HandleId,
  relayUrl: z.string(),
  /** The relay's TLS key pin from the code, as `sha256//<base64>` (what curl --pinnedpubkey takes). */
  relayPin: z.string(),
  deviceName: z.string(),
  passwordRules: PasswordRules,
});
export type EnrollStarted = z.infer<typeof EnrollStarted>;

export const EnrollSetPassword = z
  .object({
    enrollmentId: HandleId,
    password: z.string().max(1024),
    repeat: z.string().max(1024),
    /** Remember the unlock on this device (keychain / safeStorage). */
    remember: z.boolean().optional(),
  })
  .strict();
export type EnrollSetPassword = z.infer<typeof EnrollSetPassword>;

/** The authenticator entry to add, as data: draw `qr.modules` (true = dark), or type `secretGrouped`. */
export const TotpSetupView = z.object({
  uri: z.string(),
  secret: z.string(),
  secretGrouped: z.string(),
  label: z.string(),
  qr: z.object({ size: z.number().int(), modules: z.array(z.array(z.boolean())) }),
});
export type TotpSetupView = z.infer<typeof TotpSetupView>;

export const EnrollPasswordSet = z.object({
  user: z.string(),
  /** Null: the user has an authenticator already; ask for its current code. */
  totp: TotpSetupView.nullable(),
  /** Set when remembering was asked for and failed (enrollment goes on). */
  rememberError: z.string().optional(),
});
export type EnrollPasswordSet = z.infer<typeof EnrollPasswordSet>;

export const EnrollConfirm = z.object({ enrollmentId: HandleId, totp: TotpCode }).strict();
export type EnrollConfirm = z.infer<typeof EnrollConfirm>;

export const EnrollDone = z.object({
  user: z.string(),
  deviceId: z.string(),
  deviceName: z.string(),
  relayUrl: z.string(),
  fingerprint: z.string(),
  remembered: z.boolean(),
});
export type EnrollDone = z.infer<typeof EnrollDone>;

export const EnrollCancel = z.object({ enrollmentId: HandleId }).strict();
