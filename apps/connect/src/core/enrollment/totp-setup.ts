import { err, ok, type Result } from '@airlock/shared';

/**
 * What a person needs to add Airlock to an authenticator app, as data: the otpauth URI, its
 * secret (also in groups of four, easier to type), the label the app will show, and the QR code as
 * a module matrix. Each front end draws it its own way (the CLI with half blocks on the terminal,
 * the app as SVG).
 */
export interface TotpSetup {
  uri: string;
  /** Base32, as in the URI. */
  secret: string;
  secretGrouped: string;
  /** "Issuer (account)" from the URI's label, for the person to recognise the entry. */
  label: string;
  /** The QR code of `uri` (error correction M): `modules[y][x]` is true for a dark module; no quiet zone. */
  qr: { size: number; modules: boolean[][] };
}

export type TotpUriError = { code: 'bad_totp_uri'; message: string };

/** Checks the relay's otpauth://totp/ URI and derives what to show from it. */
export async function totpSetupFrom(uri: string): Promise<Result<TotpSetup, TotpUriError>> {
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    return err({ code: 'bad_totp_uri', message: 'the TOTP setup link is not a URI' });
  }
  if (parsed.protocol !== 'otpauth:' || parsed.host !== 'totp')
    return err({ code: 'bad_totp_uri', message: 'the TOTP setup link is not an otpauth://totp/ URI' });
  const secret = parsed.searchParams.get('secret')?.replace(/=+$/, '').toUpperCase() ?? '';
  if (!/^[A-Z2-7]{16,}$/.test(secret))
    return err({ code: 'bad_totp_uri', message: 'the TOTP setup link has no valid base32 secret' });
  const name = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  const [prefix, account] = name.includes(':') ? name.split(':', 2) : [undefined, name];
  const issuer = parsed.searchParams.get('issuer') ?? prefix;
  const label = issuer ? `${issuer} (${account?.trim()})` : (account ?? '');
  // Loaded here: only enrollment draws a QR code.
  const QRCode = (await import('qrcode')).default;
  const code = QRCode.create(uri, { errorCorrectionLevel: 'M' });
  const size = code.modules.size;
  const modules = Array.from({ length: size }, (_, y) =>
    Array.from({ length: size }, (_, x) => code.modules.get(y, x) === 1),
  );
  const secretGrouped = secret.match(/.{1,4}/g)!.join(' ');
  return ok({ uri, secret, secretGrouped, label, qr: { size, modules } });
}
