import type { Result } from '@airlock/shared';
import { totpSetupFrom, type TotpSetup, type TotpUriError } from '../core/enrollment/totp-setup.js';

/** What `airlock enroll` prints to set up TOTP: the setup drawn as a terminal QR code, plus text to type by hand. */
export interface TotpDisplay extends TotpSetup {
  /** The QR code drawn with half-block characters and ANSI colours (dark on light), ends with a newline. */
  drawing: string;
  /** Everything, ready to print. */
  text: string;
}

export async function renderTotpSetup(uri: string): Promise<Result<TotpDisplay, TotpUriError>> {
  const setup = await totpSetupFrom(uri);
  if (!setup.ok) return setup;
  // Small (half-block) rendering fits an 80×24 terminal for the URI lengths we produce.
  const QRCode = (await import('qrcode')).default;
  const drawing = withQuietZone(
    await QRCode.toString(uri, { type: 'terminal', small: true, errorCorrectionLevel: 'M' }),
  );
  const { label, secretGrouped } = setup.value;
  const text = [
    'Scan this QR code with your authenticator app:',
    '',
    drawing.trimEnd(),
    '',
    'Or add the entry by hand:',
    `  Account: ${label}`,
    `  Secret:  ${secretGrouped}`,
    `  URI:     ${uri}`,
    '',
  ].join('\n');
  return { ok: true, value: { ...setup.value, drawing, text } };
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
