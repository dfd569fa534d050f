import { createPrivateKey, createPublicKey } from 'node:crypto';
import { issueLogin } from '@airlock/shared/org';
import {
  ACCESS_TOKEN_TTL_SECONDS,
  err,
  mintClientCertificate,
  ok,
  signLogin,
  sshFingerprintFromPem,
  type MintedClientCertificate,
  type Result,
} from '@airlock/shared';
import {
  endpointOf,
  type ConfigStore,
  type EnrolledOrg,
  type Enrollment,
  type SavedSession,
} from '../identity/config-store.js';
import { RelayClient } from '../relay/relay-client.js';
import type { RelayFetch } from '../relay/relay-http.js';
import type { RelayError } from '../relay/relay-error.js';
import type { RelayEndpoint } from '../relay/relay-endpoint.js';
import { userKeyFromPrivateKey, type UserKey } from '../identity/user-key-store.js';

/**
 * The certificate outlives the token a little: the relay checks the token's expiry, and a
 * certificate that expired a few seconds before its token would only produce a confusing error.
 */
export const CLIENT_CERT_TTL_SECONDS = ACCESS_TOKEN_TTL_SECONDS + 10 * 60;

export interface LoginOptions {
  enrollment: Enrollment;
  /** The unlocked device key (signs the challenge). */
  key: UserKey;
  /** The current code from the authenticator app. */
  totp: string;
  store: ConfigStore;
  /** Reuse a certificate minted for an earlier attempt (a retry after a wrong code); else one is minted. */
  clientCert?: MintedClientCertificate;
  fetch?: RelayFetch;
  timeoutMs?: number;
}

export type LoginResult = Result<SavedSession, RelayError>;

/** A fresh ECDSA P-256 key and short-lived client certificate for one login. */
export function mintLoginCertificate(user: string): Promise<MintedClientCertificate> {
  return mintClientCertificate({ commonName: user, ttlSeconds: CLIENT_CERT_TTL_SECONDS });
}

/**
 * Challenge → sign (user, device, nonce, certificate thumbprint) with the device key → access
 * token, over a TLS connection that presents that very certificate, so the relay binds the token
 * to it. Saves the token with the certificate and its key (0600) for the commands that follow.
 */
export async function login(options: LoginOptions): Promise<LoginResult> {
  const { enrollment } = options;
  const { user, deviceId } = enrollment;
  const cert = options.clientCert ?? (await mintLoginCertificate(user));
  const endpoint: RelayEndpoint = {
    ...endpointOf(enrollment),
    clientCert: { certPem: cert.certPem, keyPem: cert.keyPem },
  };
  const relay = new RelayClient({ endpoint, fetch: options.fetch, timeoutMs: options.timeoutMs });
  try {
    const challenge = await relay.challenge(user);
    if (!challenge.ok) return challenge;
    const { nonce } = challenge.value;
    const certThumbprint = cert.thumbprint;
    const signature = signLogin(options.key.privateKey, { user, deviceId, nonce, certThumbprint });
    const res = await relay.login({ user, deviceId, nonce, totp: options.totp, certThumbprint, signature });
    if (!res.ok) return res;
    if (res.value.user !== user)
      return err({
        code: 'bad_response',
        url: relay.relayUrl,
        message: `the relay logged us in as "${res.value.user}" instead of "${user}"`,
      });
    const saved: SavedSession = {
      relayUrl: relay.relayUrl,
      user,
      deviceId,
      accessToken: res.value.accessToken,
      expiresAt: res.value.expiresAt,
      clientCertPem: cert.certPem,
      clientKeyPem: cert.keyPem,
      ...(enrollment.org ? { loginCert: await certifySessionKey(options.key, user, cert.keyPem) } : {}),
    };
    await options.store.writeSession(saved);
    return ok(saved);
  } finally {
    await relay.close();
  }
}

/** What authenticated calls and sessions need: the pinned endpoint with the certificate, and the token. */
export interface RelayCredentials {
  endpoint: RelayEndpoint & { clientCert: NonNullable<RelayEndpoint['clientCert']> };
  user: string;
  token: string;
  expiresAt: string;
  /** The organisation this device pinned, and the user chain for this login (absent if it predates the pin). */
  org?: { enrolled: EnrolledOrg; userChain?: string[] };
}

export function credentialsOf(enrollment: Enrollment, session: SavedSession): RelayCredentials {
  const endpoint = endpointOf(enrollment, session) as RelayCredentials['endpoint'];
  const { org } = enrollment;
  return {
    endpoint,
    user: session.user,
    token: session.accessToken,
    expiresAt: session.expiresAt,
    ...(org
      ? {
          org: {
            enrolled: org,
            ...(session.loginCert ? { userChain: [...org.deviceChain, session.loginCert] } : {}),
          },
        }
      : {}),
  };
}

/**
 * The device key vouches for this login's session key (the client certificate's, whose SSH
 * fingerprint the relay puts in every ticket) for as long as the certificate lives.
 */
function certifySessionKey(key: UserKey, user: string, clientKeyPem: string): Promise<string> {
  const ukey = sshFingerprintFromPem(
    createPublicKey(createPrivateKey(clientKeyPem)).export({ type: 'spki', format: 'pem' }).toString(),
  );
  return issueLogin(key.privateKey, { sub: user, ukey, seconds: CLIENT_CERT_TTL_SECONDS });
}

/**
 * The key sessions authenticate to the agent with: the client certificate's (ephemeral) key,
 * whose SSH fingerprint the relay put into the token and every ticket — not the device key, so
 * opening a session never needs the password.
 */
export function sessionUserKey(credentials: RelayCredentials): UserKey {
  return userKeyFromPrivateKey(createPrivateKey(credentials.endpoint.clientCert.keyPem));
}
