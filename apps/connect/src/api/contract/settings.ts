import * as z from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const LogLevel = z.enum(LOG_LEVELS);

export const KeychainView = z.object({
  /** What keeps the remembered unlock: "the OS keychain", "Electron safeStorage (gnome_libsecret)"… */
  backend: z.string(),
  available: z.boolean(),
  /** Why it is not available (e.g. safeStorage's `basic_text` backend, which does not protect secrets). */
  reason: z.string().optional(),
  /** Whether this device remembers the unlock now. */
  remembered: z.boolean(),
});
export type KeychainView = z.infer<typeof KeychainView>;

export const SettingsView = z.object({
  relay: z.object({ url: z.string(), pin: z.string() }).nullable(),
  user: z.string().nullable(),
  deviceId: z.string().nullable(),
  /** AIRLOCK_HOME: where Connect keeps its key, config and login. */
  home: z.string(),
  versions: z.object({
    connect: z.string(),
    node: z.string(),
    electron: z.string().optional(),
    chrome: z.string().optional(),
    platform: z.string(),
  }),
  /** Where the app writes its log, or null when it logs to stderr only. */
  logFolder: z.string().nullable(),
  logLevel: LogLevel,
  keychain: KeychainView,
});
export type SettingsView = z.infer<typeof SettingsView>;

export const SetLogLevel = z.object({ level: LogLevel }).strict();
