import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { hostname } from 'node:os';
import {
  connectPinned,
  DeviceName,
  enrollSigningInput,
  err,
  ok,
  parseOneTimeCode,
  signStatement,
  type EnrollBeginResponse,
  type EnrollCompleteResponse,
  type Result,
} from '@airlock/shared';
import { certifyWithCredential, parseAnchor, type PinnedAnchor } from '@airlock/shared/org';
import { RelayClient } from '../relay/relay-client.js';
import type { RelayFetch } from '../relay/relay-http.js';
import type { RelayError } from '../relay/relay-error.js';
import { relayConnectFailure } from '../relay/relay-failure.js';
import { parseRelayUrl, type RelayUrlError } from '../relay/relay-endpoint.js';

/** What `airlock enroll <relay-url> <code>` was given, checked: the relay, its pin, the code's secret. */
export interface EnrollmentTarget {
  relayUrl: string;
  /** `sha256/…`: the relay's SPKI pin, carried by the code. */
  pin: string;
  /** The code's secret part, the only part sent to the relay. */
  secret: string;
  /** A u2 code: the organisation to pin and the one-time credential key's seed (never sent). */
  org?: { afp: string; credSeed: Buffer };
}

/** The relay does not hold up the organisation a u2 code pinned. */
export type OrgRefusal = { code: 'org_refused'; message: string };

export type EnrollInputError = RelayUrlError | { code: 'bad_enrollment_code'; message: string };

export function parseEnrollmentInput(relayUrl: string, code: string): Result<EnrollmentTarget, EnrollInputError> {
  const url = parseRelayUrl(relayUrl);
  if (!url.ok) return url;
  const parsed = parseOneTimeCode(code, 'user');
  if (!parsed.ok) return err({ code: 'bad_enrollment_code', message: `bad enrollment code: ${parsed.message}` });
  const { pin, secret, org } = parsed.value;
  return ok({ relayUrl: url.value, pin, secret, ...(org ? { org } : {}) });
}

/** The device key: ECDSA P-256, made here, never sent anywhere (only its public half is). */
export function generateDeviceKey(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}

/** This machine's name, shaped to what the relay accepts as a device name. */
export function defaultDeviceName(name: string = hostname()): string {
  const cleaned = name
    .replace(/[^\p{L}\p{N} ._()'-]/gu, '-')
    .slice(0, 64)
    .trim();
  return DeviceName.safeParse(cleaned).success ? cleaned : 'this computer';
}

/**
 * One device enrollment against one relay, over a pinned connection: `begin` trades the code's
 * secret and the new public key for an enrollment id (and a TOTP secret to set up, unless the
 * user already has one); `complete` proves possession of the key and confirms a TOTP code.
 */
export class DeviceEnrollment {
  private readonly relay: RelayClient;

  constructor(
    readonly target: EnrollmentTarget,
    options: { fetch?: RelayFetch; timeoutMs?: number } = {},
  ) {
    this.relay = new RelayClient({
      endpoint: { url: target.relayUrl, pin: target.pin },
      fetch: options.fetch,
      timeoutMs: options.timeoutMs,
    });
  }

  /**
   * A TLS handshake with the relay and nothing else: says "unreachable" or "not the pinned relay"
   * before the person types a password, without sending the code (which the relay uses up).
   */
  async checkRelay(timeoutMs = 10_000): Promise<Result<void, RelayError>> {
    const url = new URL(this.target.relayUrl);
    try {
      const socket = await connectPinned({
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port ? Number(url.port) : 443,
        pin: this.target.pin,
        timeoutMs,
      });
      socket.destroy();
      return ok(undefined);
    } catch (e) {
      return err(relayConnectFailure(this.target.relayUrl, e, timeoutMs));
    }
  }

  /**
   * For a u2 code, before the code is spent: the anchor the relay serves must hash to the
   * fingerprint the code pinned. A relay serving another anchor, or none, learns nothing.
   */
  async pinnedAnchor(): Promise<Result<PinnedAnchor | undefined, RelayError | OrgRefusal>> {
    const org = this.target.org;
    if (!org) return ok(undefined);
    const info = await this.relay.orgInfo();
    if (!info.ok) return info;
    if (info.value.anchor === null)
      return err({
        code: 'org_refused',
        message: `the code pins organisation ${org.afp}, but the relay serves none; nothing was sent`,
      });
    const anchor = parseAnchor(info.value.anchor, org.afp);
    return anchor.ok ? anchor : err({ code: 'org_refused', message: `${anchor.error.message}; nothing was sent` });
  }

  /** The u2 step after `begin`: the organisation's credential certifies the new device key. */
  async certifyDevice(
    anchor: PinnedAnchor,
    begun: EnrollBeginResponse,
    privateKey: KeyObject,
  ): Promise<Result<string[], OrgRefusal>> {
    const certified = await certifyWithCredential(anchor, begun.org?.chain, {
      kind: 'user',
      sub: begun.user,
      credSeed: this.target.org!.credSeed,
      key: privateKey,
    });
    return certified.ok
      ? certified
      : err({
          code: 'org_refused',
          message: `the relay did not hand over this code's organisation credential for ${begun.user} (${certified.error.code}: ${certified.error.message}); the code is used up, ask your admin for a new one`,
        });
  }

  begin(privateKey: KeyObject, deviceName: string): Promise<Result<EnrollBeginResponse, RelayError>> {
    return this.relay.enrollBegin({
      code: this.target.secret,
      publicKeyPem: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(),
      deviceName,
    });
  }

  complete(
    enrollmentId: string,
    privateKey: KeyObject,
    totp: string,
    deviceCert?: string,
  ): Promise<Result<EnrollCompleteResponse, RelayError>> {
    const signature = signStatement(privateKey, enrollSigningInput(enrollmentId));
    return this.relay.enrollComplete({ enrollmentId, totp, signature, ...(deviceCert ? { deviceCert } : {}) });
  }

  close(): Promise<void> {
    return this.relay.close();
  }
}
