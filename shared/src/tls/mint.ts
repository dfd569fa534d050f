import { createPrivateKey, createPublicKey, generateKeyPair, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import type forgeNs from 'node-forge';
import { z } from 'zod';
import { certThumbprint } from './pin.js';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface MintedCertificate {
  certPem: string;
  /** PKCS#8 PEM, unencrypted: the caller stores it with mode 0600 or keeps it in memory only. */
  keyPem: string;
}

export interface MintedClientCertificate extends MintedCertificate {
  publicKeyPem: string;
  /** RFC 8705 `x5t#S256` of the certificate, the value an access token is bound to. */
  thumbprint: string;
  notAfter: Date;
}

const serverOptionsSchema = z.object({
  commonName: z.string().min(1).max(64),
  dnsNames: z.array(z.string().min(1).max(253)).default([]),
  ipAddresses: z.array(z.string().refine((s) => isIP(s) !== 0, 'not an IP address')).default([]),
  days: z.number().int().min(1).max(36500).default(3650),
  /** Re-issue for an existing key (PEM) so the SPKI pin stays the same. */
  keyPem: z.string().optional(),
});
export type ServerCertificateOptions = z.input<typeof serverOptionsSchema>;

const clientOptionsSchema = z.object({
  commonName: z.string().min(1).max(64),
  ttlSeconds: z
    .number()
    .int()
    .min(60)
    .max(7 * 24 * 3600),
});
export type ClientCertificateOptions = z.input<typeof clientOptionsSchema>;

/** Start dates lie in the past so a peer whose clock runs a little behind still accepts them. */
const SERVER_BACKDATE_MS = 5 * 60_000;
const CLIENT_BACKDATE_MS = 5 * 60_000;

/**
 * The relay's self-signed server certificate: RSA-3072, SANs for every name and address the relay
 * is reached by, serverAuth. Clients trust it through the SPKI pin, not through a CA, but the SANs
 * and EKU keep it acceptable to ordinary TLS tools (curl --pinnedpubkey, openssl s_client).
 */
export async function mintServerCertificate(options: ServerCertificateOptions): Promise<MintedCertificate> {
  const o = serverOptionsSchema.parse(options);
  const { privateKey, keyPem } = o.keyPem
    ? { privateKey: createPrivateKey(o.keyPem), keyPem: o.keyPem }
    : await newRsaKey(3072);
  if (privateKey.asymmetricKeyType !== 'rsa') throw new Error('the relay certificate key must be RSA');
  const now = Date.now();
  const altNames = [
    ...o.dnsNames.map((value) => ({ type: 2, value })),
    ...o.ipAddresses.map((ip) => ({ type: 7, ip })),
  ];
  const certPem = await buildCertificate({
    privateKey,
    commonName: o.commonName,
    notBefore: new Date(now - SERVER_BACKDATE_MS),
    notAfter: new Date(now + o.days * 86_400_000),
    extKeyUsage: { serverAuth: true },
    altNames,
  });
  return { certPem, keyPem };
}

/**
 * Connect's ephemeral login certificate: RSA-2048 (forge only builds RSA certificates, and 2048
 * is plenty for a key that lives minutes and never touches disk), clientAuth, valid `ttlSeconds`.
 */
export async function mintClientCertificate(options: ClientCertificateOptions): Promise<MintedClientCertificate> {
  const o = clientOptionsSchema.parse(options);
  const { privateKey, keyPem } = await newRsaKey(2048);
  const now = Date.now();
  const notAfter = new Date(Math.floor((now + o.ttlSeconds * 1000) / 1000) * 1000);
  const certPem = await buildCertificate({
    privateKey,
    commonName: o.commonName,
    notBefore: new Date(now - CLIENT_BACKDATE_MS),
    notAfter,
    extKeyUsage: { clientAuth: true },
    altNames: [],
  });
  const publicKeyPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
  return { certPem, keyPem, publicKeyPem, thumbprint: certThumbprint(certPem), notAfter };
}

/** Node's native generator: forge's pure-JS RSA key generation takes seconds for 3072 bits. */
async function newRsaKey(bits: number): Promise<{ privateKey: KeyObject; keyPem: string }> {
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: bits, publicExponent: 0x10001 });
  return { privateKey, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

interface CertificateSpec {
  privateKey: KeyObject;
  commonName: string;
  notBefore: Date;
  notAfter: Date;
  extKeyUsage: { serverAuth?: boolean; clientAuth?: boolean };
  altNames: Array<{ type: number; value?: string; ip?: string }>;
}

type Forge = typeof forgeNs;
let forgeModule: Promise<Forge> | undefined;
/** node-forge is large (~50 ms to load) and only needed when a certificate is minted. */
function loadForge(): Promise<Forge> {
  return (forgeModule ??= import('node-forge').then((m) => (m as unknown as { default: Forge }).default));
}

async function buildCertificate(spec: CertificateSpec): Promise<string> {
  const forge = await loadForge();
  const publicPem = createPublicKey(spec.privateKey).export({ type: 'spki', format: 'pem' }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicPem);
  cert.serialNumber = randomSerialHex();
  cert.validity.notBefore = spec.notBefore;
  cert.validity.notAfter = spec.notAfter;
  const name = [{ name: 'commonName', value: spec.commonName }];
  cert.setSubject(name);
  cert.setIssuer(name);
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', ...spec.extKeyUsage },
    { name: 'subjectKeyIdentifier' },
  ];
  if (spec.altNames.length > 0) extensions.push({ name: 'subjectAltName', altNames: spec.altNames });
  cert.setExtensions(extensions);
  signWithNode(forge, cert, spec.privateKey);
  return forge.pki.certificateToPem(cert);
}

/**
 * What forge's `cert.sign()` does, with the RSA operation done by Node's native crypto instead of
 * forge's big-integer JavaScript (which needs tens of milliseconds per 3072-bit signature).
 */
function signWithNode(forge: Forge, cert: forgeNs.pki.Certificate, privateKey: KeyObject): void {
  const oid = forge.pki.oids['sha256WithRSAEncryption']!;
  cert.signatureOid = oid;
  cert.siginfo.algorithmOid = oid;
  // Exported by forge at runtime but missing from @types/node-forge.
  const pki = forge.pki as Forge['pki'] & { getTBSCertificate(c: forgeNs.pki.Certificate): forgeNs.asn1.Asn1 };
  const tbs = pki.getTBSCertificate(cert);
  const tbsDer = Buffer.from(forge.asn1.toDer(tbs).getBytes(), 'binary');
  cert.signature = sign('sha256', tbsDer, privateKey).toString('binary');
  // certificateToPem serialises this cached TBS when present: exactly the bytes that were signed.
  (cert as unknown as { tbsCertificate: forgeNs.asn1.Asn1 }).tbsCertificate = tbs;
}

/** 16 random bytes, first byte in 0x40–0x7f: a positive DER INTEGER with no leading zero octet. */
function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x3f) | 0x40;
  return bytes.toString('hex');
}
