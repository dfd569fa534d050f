import { err, ok, tlsPinSchema, type Result } from '@airlock/shared';

/** Connect's short-lived login certificate and its (ECDSA P-256) key, both PEM. */
export interface ClientCertificate {
  certPem: string;
  keyPem: string;
}

/**
 * Where the relay is and how to know it is the real one: its HTTPS URL, the SPKI pin from the
 * enrollment code (the only trust anchor — no CA, no hostname check), and, once logged in, the
 * client certificate every authenticated connection must present.
 */
export interface RelayEndpoint {
  url: string;
  pin: string;
  clientCert?: ClientCertificate;
}

export type RelayUrlError = { code: 'bad_relay_url'; message: string };

/** Strips a trailing slash so `https://relay:7443/` and `https://relay:7443` name the same relay. */
export function normalizeRelayUrl(url: string): string {
  return url.trim().replace(/\/+$/, '');
}

/**
 * Checks a relay URL as typed by a person: `https://host[:port][/path]`, nothing else. Plain
 * http is refused outright — the relay speaks only TLS, and the pin means nothing without it.
 */
export function parseRelayUrl(raw: string): Result<string, RelayUrlError> {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return err({ code: 'bad_relay_url', message: `"${raw}" is not a URL; use e.g. https://relay.example.org:7443` });
  }
  if (url.protocol === 'http:')
    return err({
      code: 'bad_relay_url',
      message: `the relay is HTTPS only; use https://${url.host}${url.pathname.replace(/\/+$/, '')} instead of http://`,
    });
  if (url.protocol !== 'https:') return err({ code: 'bad_relay_url', message: `"${raw}" must start with https://` });
  if (url.search || url.hash)
    return err({ code: 'bad_relay_url', message: `"${raw}" must not have a query or fragment` });
  if (url.username || url.password)
    return err({ code: 'bad_relay_url', message: `"${raw}" must not carry a user name or password` });
  return ok(normalizeRelayUrl(url.toString()));
}

export function isValidPin(pin: string): boolean {
  return tlsPinSchema.safeParse(pin).success;
}
