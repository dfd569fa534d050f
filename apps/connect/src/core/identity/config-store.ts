import { unlink } from 'node:fs/promises';
import * as z from 'zod';
import { join } from 'node:path';
import {
  err,
  ok,
  OrgChain,
  OrgJws,
  readFileIfExists,
  tlsPinSchema,
  UserName,
  writeFileAtomic,
  type Result,
} from '@airlock/shared';
import { ensureHome, type AirlockPaths } from '../paths.js';
import { normalizeRelayUrl, type RelayEndpoint } from '../relay/relay-endpoint.js';
import { lazySchema } from '@airlock/shared';

/**
 * `config.json` (not secret): which relay this device enrolled with, the relay's TLS pin from the
 * enrollment code, and who this device is there. Every field is optional so a half-restored
 * backup or an older file still parses; `enrollmentOf` says what is missing.
 */
export const ConnectConfig = lazySchema(() =>
  z.object({
    relayUrl: z.string().url().optional(),
    relayPin: tlsPinSchema.optional(),
    user: UserName.optional(),
    deviceId: z.string().uuid().optional(),
    /**
     * Enrolled with a u2 code: the organisation's anchor (its fingerprint was in the code; its
     * presence is the pin — no relay can take it away) and this device's chain `[approver?, cred, device]`.
     */
    org: z.object({ anchor: z.string().max(8192), deviceChain: OrgChain }).optional(),
  }),
);
export type ConnectConfig = z.infer<typeof ConnectConfig>;

/** A completed enrollment: everything `airlock login` needs besides the key and the person. */
export interface Enrollment {
  relayUrl: string;
  relayPin: string;
  user: string;
  deviceId: string;
  /** The organisation this device pinned, with its device chain and where the newest revocation list is kept. */
  org?: EnrolledOrg;
}

export interface EnrolledOrg {
  anchor: string;
  deviceChain: string[];
  crlFile: string;
}

/** Where Connect keeps the newest revocation list it saw (never replaced by an older one). */
export const ORG_CRL_FILE = 'org-crl.json';

/**
 * `session.json` (mode 0600): what `airlock login` leaves behind for the commands that follow —
 * the access token and the client certificate it is bound to, with that certificate's key.
 *
 * Why the certificate's private key may sit on disk unencrypted while the user key never does:
 * the user key is long-lived and proves who this device is, so it is only ever stored encrypted
 * with the password. The certificate key is ephemeral (minted at login, ECDSA P-256), good only for
 * this one token's lifetime (30 minutes by default), only together with that token, and only
 * towards this relay — the same trade-off as the short-lived certificates `tsh` keeps in ~/.tsh.
 * Keeping it lets `shell`, `exec`, `forward` and `sftp-stdio` (run by `sftp -D`, with no terminal
 * to ask on) work without the password for that half hour. `airlock logout` deletes it.
 */
export const SavedSession = lazySchema(() =>
  z.object({
    relayUrl: z.string(),
    user: UserName,
    deviceId: z.string().uuid(),
    accessToken: z.string().min(1),
    expiresAt: z.string(),
    clientCertPem: z.string().startsWith('-----BEGIN CERTIFICATE-----'),
    clientKeyPem: z.string().startsWith('-----BEGIN PRIVATE KEY-----'),
    /** With an organisation root: the device key's certificate for the client certificate's key. */
    loginCert: OrgJws.optional(),
  }),
);
export type SavedSession = z.infer<typeof SavedSession>;

export type StoredTokenError = { code: 'not_logged_in'; message: string } | { code: 'token_expired'; message: string };
export type EnrollmentError = { code: 'not_enrolled'; message: string };

/** The enrollment in `config` (read from the folder `home`), or what is missing from it. */
export function enrollmentOf(config: ConnectConfig, home: string): Result<Enrollment, EnrollmentError> {
  const { relayUrl, relayPin, user, deviceId } = config;
  if (relayUrl && relayPin && user && deviceId)
    return ok({
      relayUrl: normalizeRelayUrl(relayUrl),
      relayPin,
      user,
      deviceId,
      ...(config.org
        ? {
            org: {
              anchor: config.org.anchor,
              deviceChain: config.org.deviceChain,
              crlFile: join(home, ORG_CRL_FILE),
            },
          }
        : {}),
    });
  const missing = Object.entries({ relayUrl, relayPin, user, deviceId })
    .filter(([, v]) => !v)
    .map(([k]) => k);
  return err({
    code: 'not_enrolled',
    message:
      // Naming the folder tells apart "never enrolled" from "AIRLOCK_HOME points elsewhere".
      missing.length === 4
        ? `this device is not enrolled with a relay yet (nothing in ${home}; AIRLOCK_HOME sets the folder)`
        : `this device's enrollment is incomplete (${home}/config.json lacks ${missing.join(', ')})`,
  });
}

/** The endpoint to reach an enrolled relay with, presenting a saved session's certificate if given. */
export function endpointOf(enrollment: Enrollment, session?: SavedSession): RelayEndpoint {
  return {
    url: enrollment.relayUrl,
    pin: enrollment.relayPin,
    ...(session ? { clientCert: { certPem: session.clientCertPem, keyPem: session.clientKeyPem } } : {}),
  };
}

export class ConfigStore {
  constructor(readonly paths: AirlockPaths) {}

  async readConfig(): Promise<ConnectConfig> {
    let text: string | undefined;
    try {
      text = await readFileIfExists(this.paths.config);
    } catch (e) {
      // EISDIR, ENOTDIR (AIRLOCK_HOME is a file), EACCES…: name the file and what it should be.
      const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      throw new Error(
        `cannot read ${this.paths.config} (${why}): Airlock keeps its files in the folder ${this.paths.home}; fix or move what is in the way`,
        { cause: e },
      );
    }
    if (text === undefined) return {};
    const parsed = ConnectConfig.safeParse(safeJson(text));
    if (!parsed.success) throw new Error(`${this.paths.config} is not a valid Airlock config; fix or delete it`);
    return parsed.data;
  }

  async writeConfig(config: ConnectConfig): Promise<void> {
    await ensureHome(this.paths);
    // Parsed, so fields of an Enrollment that are not kept (where files live) never reach the file.
    await writeFileAtomic(this.paths.config, JSON.stringify(ConnectConfig.parse(config), null, 2) + '\n', 0o644);
  }

  async readSession(): Promise<SavedSession | undefined> {
    const text = await readFileIfExists(this.paths.session);
    if (text === undefined) return undefined;
    const parsed = SavedSession.safeParse(safeJson(text));
    // A session file from before mutual TLS (no certificate) is as good as none.
    return parsed.success ? parsed.data : undefined;
  }

  async writeSession(session: SavedSession): Promise<void> {
    await ensureHome(this.paths);
    await writeFileAtomic(this.paths.session, JSON.stringify(session, null, 2) + '\n', 0o600);
  }

  async clearSession(): Promise<boolean> {
    try {
      await unlink(this.paths.session);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  /**
   * The saved session for this enrollment, checked locally first: an expired or missing token is
   * reported without a round trip (the relay would say the same).
   */
  async accessToken(
    enrollment: Pick<Enrollment, 'relayUrl' | 'user' | 'deviceId'>,
    now: number = Date.now(),
  ): Promise<Result<SavedSession, StoredTokenError>> {
    const { relayUrl } = enrollment;
    const s = await this.readSession();
    if (
      !s ||
      normalizeRelayUrl(s.relayUrl) !== normalizeRelayUrl(relayUrl) ||
      s.user !== enrollment.user ||
      s.deviceId !== enrollment.deviceId
    )
      return err({ code: 'not_logged_in', message: `not logged in to ${relayUrl}` });
    const exp = Date.parse(s.expiresAt);
    if (!Number.isFinite(exp) || exp <= now)
      return err({ code: 'token_expired', message: `your login to ${relayUrl} expired at ${s.expiresAt}` });
    return ok(s);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
