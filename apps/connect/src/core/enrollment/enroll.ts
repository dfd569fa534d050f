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
import { RelayClient, type RelayFetch } from '../relay/relay-client.js';
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
}

export type EnrollInputError = RelayUrlError | { code: 'bad_enrollment_code'; message: string };

export function parseEnrollmentInput(relayUrl: string, code: string): Result<EnrollmentTarget, EnrollInputError> {
  const url = parseRelayUrl(relayUrl);
  if (!url.ok) return url;
  const parsed = parseOneTimeCode(code, 'user');
  if (!parsed.ok) return err({ code: 'bad_enrollment_code', message: `bad enrollment code: ${parsed.message}` });
  return ok({ relayUrl: url.value, pin: parsed.value.pin, secret: parsed.value.secret });
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
  ): Promise<Result<EnrollCompleteResponse, RelayError>> {
    const signature = signStatement(privateKey, enrollSigningInput(enrollmentId));
    return this.relay.enrollComplete({ enrollmentId, totp, signature });
  }

  close(): Promise<void> {
    return this.relay.close();
  }
}
