import { err, ok, type Result } from '@airlock/shared';

/** What `airlock enroll` shows to set up TOTP: the otpauth URI as a terminal QR code, plus text to type by hand. */
export interface TotpSetup {
  /** The QR code drawn with half-block characters and ANSI colours (dark on light), ends with a newline. */
  qr: string;
  uri: string;
  /** Base32, as in the URI. */
  secret: string;
  /** The secret in groups of four, easier to type. */
  secretGrouped: string;
  /** "Issuer (account)" from the URI's label, for the person to recognise the entry. */
  label: string;
  /** Everything above, ready to print. */
  text: string;
}

export type TotpUriError = { code: 'bad_totp_uri'; message: string };

export async function renderTotpSetup(uri: string): Promise<Result<TotpSetup, TotpUriError>> {
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
  // Small (half-block) rendering fits an 80×24 terminal for the URI lengths we produce.
  // Loaded here: only `airlock enroll` draws a QR code.
  const QRCode = (await import('qrcode')).default;
  const qr = withQuietZone(await QRCode.toString(uri, { type: 'terminal', small: true, errorCorrectionLevel: 'M' }));
  const secretGrouped = secret.match(/.{1,4}/g)!.join(' ');
  const text = [
    'Scan this QR code with your authenticator app:',
    '',
    qr.trimEnd(),
    '',
    'Or add the entry by hand:',
    `  Account: ${label}`,
    `  Secret:  ${secretGrouped}`,
    `  URI:     ${uri}`,
    '',
  ].join('\n');
  return ok({ qr, uri, secret, secretGrouped, label, text });
}

const LIGHT = '\x1b[47m';
const RESET = '\x1b[0m';

/**
 * The renderer leaves a one-module light border; phones scan far more reliably with more on a
 * dark terminal, so pad with light cells: two columns each side and a line (two modules) above
 * and below. Also drops the renderer's empty trailing line.
 */
function withQuietZone(drawing: string): string {
  // eslint-disable-next-line no-control-regex
  const visible = (line: string) => line.replace(/\x1b\[[0-9;]*m/g, '');
  const lines = drawing.split('\n').filter((l) => visible(l).length > 0);
  const width = Math.max(...lines.map((l) => [...visible(l)].length)) + 4;
  const blank = LIGHT + ' '.repeat(width) + RESET;
  return [blank, ...lines.map((l) => `${LIGHT}  ${l}${LIGHT}  ${RESET}`), blank].join('\n') + '\n';
}
