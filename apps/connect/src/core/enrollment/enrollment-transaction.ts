import { readFile, rm } from 'node:fs/promises';
import type { KeyObject } from 'node:crypto';
import { DeviceName, err, ok, writeFileAtomic, type EnrollBeginResponse, type Result } from '@airlock/shared';
import { enrollmentOf, type ConfigStore } from '../identity/config-store.js';
import { passwordWeakness } from '../identity/password-rules.js';
import type { SecretCache } from '../identity/secret-cache.js';
import type { UserKeyError, UserKeyStore } from '../identity/user-key-store.js';
import { UserKeyVault } from '../identity/user-key-vault.js';
import type { RelayFetch } from '../relay/relay-http.js';
import type { RelayError } from '../relay/relay-error.js';
import {
  defaultDeviceName,
  DeviceEnrollment,
  generateDeviceKey,
  parseEnrollmentInput,
  type EnrollInputError,
  type OrgRefusal,
  type EnrollmentTarget,
} from './enroll.js';
import type { PinnedAnchor } from '@airlock/shared/org';
import { totpSetupFrom, type TotpSetup, type TotpUriError } from './totp-setup.js';

export type EnrollPrepareError =
  | EnrollInputError
  | RelayError
  | OrgRefusal
  | { code: 'bad_device_name'; message: string }
  | { code: 'config_unreadable'; message: string }
  /** This device is enrolled (or holds a key) already; `replace` would replace it. */
  | { code: 'already_enrolled'; user?: string; relayUrl?: string; message: string };

export type EnrollBeginError =
  | RelayError
  | OrgRefusal
  | UserKeyError
  | TotpUriError
  | { code: 'password_rejected'; message: string }
  | { code: 'enrollment_state'; message: string };

export interface EnrollBegun {
  user: string;
  /** A new authenticator entry to set up, or null when the user has one already (use its code). */
  totp: TotpSetup | null;
  /** Why the unlock could not be remembered, when it was asked for and failed. */
  rememberError?: string;
}

export interface EnrollDone {
  user: string;
  deviceId: string;
  deviceName: string;
  relayUrl: string;
  /** The device key's SSH fingerprint. */
  fingerprint: string;
  remembered: boolean;
}

export type EnrollConfirmError = (RelayError | { code: 'enrollment_state'; message: string }) & {
  /** A wrong code that may be tried again; otherwise the enrollment was undone. */
  retryable?: boolean;
};

export interface EnrollmentFiles {
  store: ConfigStore;
  keys: UserKeyStore;
}

/**
 * One device enrollment as a transaction, for every front end. `prepare` checks the code, the
 * relay (a TLS handshake against the code's pin, nothing sent) and this device; `begin` (after the
 * person chose a password) makes the device key, registers it with the relay — which uses up the
 * code — and writes the encrypted key; `confirm` checks an authenticator code and writes the
 * enrollment. The key is written before the relay confirms, so a confirmed device always has its
 * key on disk; an enrollment that fails or is abandoned is undone (`abort`): the key files are
 * removed, or the ones `replace` overwrote put back, and a remembered unlock forgotten.
 */
export class EnrollmentTransaction {
  private privateKey: KeyObject | undefined;
  private begun: EnrollBeginResponse | undefined;
  private undo: (() => Promise<void>) | undefined;
  private remembered = false;
  private fingerprint = '';
  private state: 'prepared' | 'begun' | 'done' | 'abandoned' = 'prepared';
  private secretCache: SecretCache | undefined;
  /** u2: the device chain `[approver?, cred, device]`, made in `begin`. */
  private deviceChain: string[] | undefined;

  private constructor(
    private readonly files: EnrollmentFiles,
    private readonly relay: DeviceEnrollment,
    readonly deviceName: string,
    private readonly replacing: boolean,
    private readonly keyExisted: boolean,
    /** The organisation a u2 code pinned (checked against the relay's anchor before the code is spent). */
    readonly anchor: PinnedAnchor | undefined,
  ) {}

  get target(): EnrollmentTarget {
    return this.relay.target;
  }

  /** Whether the relay has been asked (the code is used up from then on). */
  get codeUsed(): boolean {
    return this.begun !== undefined;
  }

  static async prepare(
    files: EnrollmentFiles,
    input: { relayUrl: string; code: string; deviceName?: string; replace?: boolean },
    options: { fetch?: RelayFetch; timeoutMs?: number } = {},
  ): Promise<Result<EnrollmentTransaction, EnrollPrepareError>> {
    const target = parseEnrollmentInput(input.relayUrl, input.code);
    if (!target.ok) return target;
    const deviceName = input.deviceName ?? defaultDeviceName();
    const validName = DeviceName.safeParse(deviceName);
    if (!validName.success)
      return err({
        code: 'bad_device_name',
        message: `bad device name "${deviceName}": ${validName.error.issues[0]?.message}`,
      });
    let config;
    try {
      config = await files.store.readConfig();
    } catch (e) {
      return err({ code: 'config_unreadable', message: (e as Error).message });
    }
    const existing = enrollmentOf(config, files.store.paths.home);
    const keyExists = await files.keys.exists();
    if (!input.replace && (existing.ok || keyExists))
      return err({
        code: 'already_enrolled',
        ...(existing.ok ? { user: existing.value.user, relayUrl: existing.value.relayUrl } : {}),
        message: existing.ok
          ? `this device is already enrolled as ${existing.value.user} on ${existing.value.relayUrl}`
          : `a user key already exists at ${files.keys.paths.userKey}`,
      });
    const relay = new DeviceEnrollment(target.value, options);
    const reachable = await relay.checkRelay();
    const anchor = reachable.ok ? await relay.pinnedAnchor() : reachable;
    if (!anchor.ok) {
      await relay.close();
      return anchor;
    }
    return ok(new EnrollmentTransaction(files, relay, deviceName, input.replace === true, keyExists, anchor.value));
  }

  /**
   * Makes the device key, registers it (the code is used up now), and saves it under `password`
   * (remembering the unlock, if asked, in the cache `secretCacheFor` gives for the user the relay
   * named). The TOTP setup comes back as data.
   */
  async begin(
    password: string,
    options: { remember?: boolean; secretCacheFor?: (user: string) => SecretCache } = {},
  ): Promise<Result<EnrollBegun, EnrollBeginError>> {
    if (this.state !== 'prepared')
      return err({ code: 'enrollment_state', message: 'this enrollment has already been started' });
    const weakness = passwordWeakness(password);
    if (weakness) return err({ code: 'password_rejected', message: weakness });
    const privateKey = generateDeviceKey();
    const begun = await this.relay.begin(privateKey, this.deviceName);
    if (!begun.ok) {
      this.state = 'abandoned';
      return begun;
    }
    if (this.anchor) {
      const chain = await this.relay.certifyDevice(this.anchor, begun.value, privateKey);
      if (!chain.ok) {
        this.state = 'abandoned';
        return chain;
      }
      this.deviceChain = chain.value;
    }
    this.state = 'begun';
    this.begun = begun.value;
    this.privateKey = privateKey;
    const totp = begun.value.totp ? await totpSetupFrom(begun.value.totp.uri) : undefined;
    if (totp && !totp.ok) {
      this.state = 'abandoned';
      return totp;
    }
    this.undo = await this.keepForUndo();
    this.secretCache = options.remember ? options.secretCacheFor?.(begun.value.user) : undefined;
    const created = await new UserKeyVault(this.files.keys, this.files.store).create(privateKey, password, {
      overwrite: this.replacing,
      keychain: this.secretCache,
      remember: options.remember,
    });
    if (!created.ok) {
      await this.abort();
      return created;
    }
    this.remembered = created.value.remembered;
    this.fingerprint = created.value.key.fingerprint;
    return ok({
      user: begun.value.user,
      totp: totp ? totp.value : null,
      ...(created.value.keychainError ? { rememberError: created.value.keychainError } : {}),
    });
  }

  /**
   * Confirms an authenticator code. A wrong code (`retryable`) may be tried again; any other
   * failure undoes the enrollment. On success this device's enrollment is written and any older
   * login forgotten.
   */
  async confirm(totp: string): Promise<Result<EnrollDone, EnrollConfirmError>> {
    const begun = this.begun;
    if (this.state !== 'begun' || !begun || !this.privateKey)
      return err({ code: 'enrollment_state', message: 'this enrollment is not waiting for a code' });
    const done = await this.relay.complete(begun.enrollmentId, this.privateKey, totp, this.deviceChain?.at(-1));
    if (!done.ok) {
      const e = done.error;
      if (e.code === 'enrollment_failed' && !e.voided) return err({ ...e, retryable: true });
      await this.abort();
      return err(e);
    }
    this.state = 'done';
    this.undo = undefined;
    const { store } = this.files;
    await store.clearSession();
    const { relayUrl, pin } = this.target;
    await store.writeConfig({
      relayUrl,
      relayPin: pin,
      user: begun.user,
      deviceId: done.value.deviceId,
      ...(this.anchor && this.deviceChain ? { org: { anchor: this.anchor.text, deviceChain: this.deviceChain } } : {}),
    });
    return ok({
      user: begun.user,
      deviceId: done.value.deviceId,
      deviceName: this.deviceName,
      relayUrl,
      fingerprint: this.fingerprint,
      remembered: this.remembered,
    });
  }

  /** Gives up: puts the key files back as they were and forgets a remembered unlock. Idempotent. */
  async abort(): Promise<void> {
    if (this.state === 'done' || this.state === 'abandoned') return;
    this.state = 'abandoned';
    const undo = this.undo;
    this.undo = undefined;
    if (undo) await undo();
    if (this.remembered) await this.secretCache?.delete();
    this.remembered = false;
  }

  close(): Promise<void> {
    return this.relay.close();
  }

  /**
   * How to put the key files back as they were: removed if this enrollment created them, or the
   * previous ones restored when `replace` overwrote them.
   */
  private async keepForUndo(): Promise<() => Promise<void>> {
    const { userKey, userPublicKey } = this.files.keys.paths;
    const before =
      this.replacing && this.keyExisted
        ? await Promise.all([readFile(userKey, 'utf8'), readFile(userPublicKey, 'utf8').catch(() => undefined)])
        : undefined;
    return async () => {
      if (!before) {
        await rm(userKey, { force: true });
        await rm(userPublicKey, { force: true });
        return;
      }
      await writeFileAtomic(userKey, before[0], 0o600);
      if (before[1] !== undefined) await writeFileAtomic(userPublicKey, before[1], 0o644);
    };
  }
}
