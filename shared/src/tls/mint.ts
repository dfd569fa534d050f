import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  randomBytes,
  sign,
  type KeyObject,
} from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import type forgeNs from 'node-forge';
import * as z from 'zod';
import { certThumbprint } from './pin.js';
import { lazySchema } from '../lazy-schema.js';

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

const serverOptionsSchema = lazySchema(() =>
  z.object({
    commonName: z.string().min(1).max(64),
    dnsNames: z.array(z.string().min(1).max(253)).default([]),
    ipAddresses: z.array(z.string().refine((s) => isIP(s) !== 0, 'not an IP address')).default([]),
    days: z.number().int().min(1).max(36500).default(3650),
    /** Re-issue for an existing key (PEM) so the SPKI pin stays the same. */
    keyPem: z.string().optional(),
  }),
);
export type ServerCertificateOptions = z.input<typeof serverOptionsSchema>;

const clientOptionsSchema = lazySchema(() =>
  z.object({
    commonName: z.string().min(1).max(64),
    ttlSeconds: z
      .number()
      .int()
      .min(60)
      .max(7 * 24 * 3600),
  }),
);
export type ClientCertificateOptions = z.input<typeof clientOptionsSchema>;

/** Start dates lie in the past so a peer whose clock runs a little behind still accepts them. */
const SERVER_BACKDATE_MS = 5 * 60_000;
const CLIENT_BACKDATE_MS = 5 * 60_000;

/**
 * The relay's self-signed server certificate: ECDSA P-256, SANs for every name and address the
 * relay is reached by, serverAuth. Clients trust it through the SPKI pin, not through a CA, but the
 * SANs and EKU keep it acceptable to ordinary TLS tools (curl --pinnedpubkey, openssl s_client).
 * P-256 rather than RSA-3072: a TLS handshake costs the relay ~0.05 ms of signing instead of
 * ~3 ms, and a session makes three (`BENCH_ONLY=tls npm run bench`: 2.6–4.0 ms per handshake against
 * 5.8–8.9 ms with RSA-3072 and the RSA-2048 login certificate of before). An existing RSA key (`keyPem`) is re-issued as it is.
 */
export async function mintServerCertificate(options: ServerCertificateOptions): Promise<MintedCertificate> {
  const o = serverOptionsSchema.parse(options);
  const { privateKey, keyPem } = o.keyPem
    ? { privateKey: createPrivateKey(o.keyPem), keyPem: o.keyPem }
    : await newCertificateKey();
  if (!isSupportedKey(privateKey)) throw new Error('the relay certificate key must be ECDSA P-256 or RSA');
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
 * Connect's ephemeral login certificate: ECDSA P-256 (made in ~0.1 ms, where RSA-2048 took tens
 * of milliseconds; its key also signs the SSH user authentication of every session), clientAuth,
 * valid `ttlSeconds`.
 */
export async function mintClientCertificate(options: ClientCertificateOptions): Promise<MintedClientCertificate> {
  const o = clientOptionsSchema.parse(options);
  const { privateKey, keyPem } = await newCertificateKey();
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

async function newCertificateKey(): Promise<{ privateKey: KeyObject; keyPem: string }> {
  const { privateKey } = await generateKeyPairAsync('ec', { namedCurve: 'P-256' });
  return { privateKey, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

function isSupportedKey(key: KeyObject): boolean {
  return (
    key.asymmetricKeyType === 'rsa' ||
    (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1')
  );
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

const SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

/**
 * forge encodes names, dates and extensions; it knows RSA keys only, so the key's own
 * SubjectPublicKeyInfo (from Node) and signature algorithm are put into the TBSCertificate in place
 * of forge's, and Node's crypto signs it.
 */
async function buildCertificate(spec: CertificateSpec): Promise<string> {
  const forge = await loadForge();
  const { asn1 } = forge;
  const rsa = spec.privateKey.asymmetricKeyType === 'rsa';
  const spkiDer = createPublicKey(spec.privateKey).export({ type: 'spki', format: 'der' });
  const cert = forge.pki.createCertificate();
  // Stands in for the real key until the SubjectPublicKeyInfo is replaced below.
  cert.publicKey = forge.pki.setRsaPublicKey(new forge.jsbn.BigInteger('3', 10), new forge.jsbn.BigInteger('3', 10));
  cert.serialNumber = randomSerialHex();
  cert.validity.notBefore = spec.notBefore;
  cert.validity.notAfter = spec.notAfter;
  const name = [{ name: 'commonName', value: spec.commonName }];
  cert.setSubject(name);
  cert.setIssuer(name);
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    // RFC 5480: an ECDSA key signs; only an RSA key may also encipher (TLS 1.2 RSA key exchange).
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: rsa, critical: true },
    { name: 'extKeyUsage', ...spec.extKeyUsage },
    // Given as its value: forge would derive it from the stand-in key.
    {
      name: 'subjectKeyIdentifier',
      value: asn1.create(
        asn1.Class.UNIVERSAL,
        asn1.Type.OCTETSTRING,
        false,
        subjectKeyIdentifier(spkiDer).toString('binary'),
      ),
    },
  ];
  if (spec.altNames.length > 0) extensions.push({ name: 'subjectAltName', altNames: spec.altNames });
  cert.setExtensions(extensions);
  cert.siginfo.algorithmOid = SHA256_WITH_RSA;
  // Exported by forge at runtime but missing from @types/node-forge.
  const pki = forge.pki as Forge['pki'] & { getTBSCertificate(c: forgeNs.pki.Certificate): forgeNs.asn1.Asn1 };
  const tbs = pki.getTBSCertificate(cert);
  const tbsFields = tbs.value as forgeNs.asn1.Asn1[];
  // RFC 5280 §4.1: version, serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo.
  const algorithm = () =>
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(
        asn1.Class.UNIVERSAL,
        asn1.Type.OID,
        false,
        asn1.oidToDer(rsa ? SHA256_WITH_RSA : ECDSA_WITH_SHA256).getBytes(),
      ),
      // RFC 5758 §3.2: ECDSA's AlgorithmIdentifier has no parameters; RSA's has NULL (RFC 4055).
      ...(rsa ? [asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, '')] : []),
    ]);
  tbsFields[2] = algorithm();
  // Parsed without looking inside BIT STRINGs, so it is written back byte for byte (the types
  // allow only a boolean here; forge takes its options object).
  tbsFields[6] = asn1.fromDer(spkiDer.toString('binary'), { decodeBitStrings: false } as unknown as boolean);
  const tbsDer = Buffer.from(asn1.toDer(tbs).getBytes(), 'binary');
  const signature = sign('sha256', tbsDer, spec.privateKey); // ECDSA: DER Ecdsa-Sig-Value, as X.509 wants
  const certificate = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    tbs,
    algorithm(),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, '\x00' + signature.toString('binary')),
  ]);
  return forge.pem.encode({ type: 'CERTIFICATE', body: asn1.toDer(certificate).getBytes() });
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's bits. */
function subjectKeyIdentifier(spkiDer: Buffer): Buffer {
  const key = createPublicKey({ key: spkiDer, format: 'der', type: 'spki' });
  const bits =
    key.asymmetricKeyType === 'rsa'
      ? key.export({ type: 'pkcs1', format: 'der' })
      : uncompressedPoint(key.export({ format: 'jwk' }));
  return createHash('sha1').update(bits).digest();
}

function uncompressedPoint(jwk: { x?: string; y?: string }): Buffer {
  return Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x ?? '', 'base64url'),
    Buffer.from(jwk.y ?? '', 'base64url'),
  ]);
}

/** 16 random bytes, first byte in 0x40–0x7f: a positive DER INTEGER with no leading zero octet. */
function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x3f) | 0x40;
  return bytes.toString('hex');
}
