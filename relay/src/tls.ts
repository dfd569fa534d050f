import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { chmod, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import { join } from 'node:path';
import { mintServerCertificate, readFileIfExists, spkiPin, writeFileAtomic } from '@airlock/shared';
import { makeFolders } from '@airlock/shared';

export const TLS_DIR = 'tls';
export const TLS_CERT_FILE = 'relay-cert.pem';
export const TLS_KEY_FILE = 'relay-key.pem';
/** Clients trust the pin, not the dates, so a long life only spares the admin a pointless renewal. */
const SELF_SIGNED_DAYS = 3650;
const DEFAULT_HOSTNAMES = ['localhost', '127.0.0.1', '::1'];

export interface RelayTls {
  certPem: string;
  keyPem: string;
  /** `sha256/<base64>` of the certificate's SubjectPublicKeyInfo: what enrollment codes carry. */
  pin: string;
  /** True when this call minted the certificate (first start): print the pin for the admin. */
  created: boolean;
  certPath: string;
  keyPath: string;
}

/** The relay cannot serve TLS with what it was given; the message says what to fix. */
export class RelayTlsError extends Error {
  override readonly name = 'RelayTlsError';
}

/**
 * The relay's own TLS identity in `<dataDir>/tls/` (0700): loaded when present, otherwise a
 * self-signed ECDSA P-256 certificate is minted once for `hostnames` (plus localhost, 127.0.0.1, ::1).
 * The key is kept across restarts because its SPKI pin is inside every enrollment code handed out.
 */
export async function loadOrCreateRelayTls(dataDir: string, options: { hostnames?: string[] } = {}): Promise<RelayTls> {
  const dir = join(dataDir, TLS_DIR);
  await makeFolders(dir, 0o700);
  await chmod(dir, 0o700); // mkdir leaves an existing folder's mode alone
  const certPath = join(dir, TLS_CERT_FILE);
  const keyPath = join(dir, TLS_KEY_FILE);
  const [certPem, keyPem] = await Promise.all([readFileIfExists(certPath), readFileIfExists(keyPath)]);
  if (certPem !== undefined && keyPem !== undefined)
    return { ...checkPair(certPem, certPath, keyPem, keyPath), created: false };
  if (certPem !== undefined || keyPem !== undefined) {
    const [present, missing] = certPem !== undefined ? [certPath, keyPath] : [keyPath, certPath];
    throw new RelayTlsError(
      `${present} exists but ${missing} does not; restore the missing file from backup, or remove ${present} ` +
        `to mint a new certificate (its new pin must then reach every client: re-issue enrollment codes)`,
    );
  }
  const names = [...new Set([...DEFAULT_HOSTNAMES, ...(options.hostnames ?? [])])];
  const minted = await mintServerCertificate({
    commonName: options.hostnames?.find((h) => isIP(h) === 0) ?? 'airlock-relay',
    dnsNames: names.filter((h) => isIP(h) === 0),
    ipAddresses: names.filter((h) => isIP(h) !== 0),
    days: SELF_SIGNED_DAYS,
  });
  // Key first: a crash in between leaves a lone key, which the next start reports, never a
  // certificate whose key is gone.
  await writeFileAtomic(keyPath, minted.keyPem, 0o600);
  await writeFileAtomic(certPath, minted.certPem, 0o644);
  return { ...minted, pin: spkiPin(minted.certPem), created: true, certPath, keyPath };
}

/**
 * An externally issued certificate (an institution's CA) and its key. The certificate file may
 * hold the chain after the leaf; the pin is the leaf's. Encrypted keys are not supported.
 */
export async function loadRelayTlsFromFiles(certFile: string, keyFile: string): Promise<RelayTls> {
  const [certPem, keyPem] = await Promise.all([
    readRequired(certFile, 'TLS certificate'),
    readRequired(keyFile, 'TLS private key'),
  ]);
  return { ...checkPair(certPem, certFile, keyPem, keyFile), created: false };
}

async function readRequired(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new RelayTlsError(`${what} file ${path} does not exist`);
    if (code === 'EACCES')
      throw new RelayTlsError(`cannot read the ${what} file ${path} (permission denied); run as its owner`);
    if (code === 'EISDIR') throw new RelayTlsError(`${what} file ${path} is a directory, not a PEM file`);
    throw e;
  }
}

function checkPair(certPem: string, certPath: string, keyPem: string, keyPath: string): Omit<RelayTls, 'created'> {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    throw new RelayTlsError(`${certPath} does not hold a PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw new RelayTlsError(
      `${keyPath} does not hold an unencrypted PEM private key; decrypt it first (openssl pkey -in <file> -out <file>)`,
    );
  }
  if (!cert.checkPrivateKey(key))
    throw new RelayTlsError(`the private key in ${keyPath} does not belong to the certificate in ${certPath}`);
  // A pair that parses and matches can still be refused by OpenSSL's security level (an RSA key
  // under 2048 bits, a SHA-1 signature). Found here, before the relay takes its data dir, the
  // admin hears why instead of a server that fails half-way through starting.
  try {
    createSecureContext({ cert: certPem, key: keyPem });
  } catch (e) {
    throw new RelayTlsError(
      `OpenSSL refuses the certificate in ${certPath} with the key in ${keyPath} (${(e as Error).message}); ` +
        'use an RSA key of at least 2048 bits or an EC key (P-256 or P-384), signed with SHA-256 or better',
    );
  }
  return { certPem, keyPem, pin: spkiPin(cert), certPath, keyPath };
}
