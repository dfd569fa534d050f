/**
 * The one Content-Security-Policy for the app's renderer, in Electron (a header on every response
 * of its own protocol, and a meta tag) and in browser mode (a header on every response of the
 * host). Scripts only from the app itself — no inline script, no eval, no remote code; nothing
 * may frame it, and forms go nowhere. Styles allow inline because xterm's renderer writes its
 * theme into <style> elements (CSS cannot run code); images may be data: URLs (the TOTP QR code).
 * `connect-src 'self'` lets browser mode reach its host's WebSocket on the same origin.
 */
const DIRECTIVES = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
];
export const CONTENT_SECURITY_POLICY = DIRECTIVES.join('; ');

/**
 * The same policy for the page's <meta> tag, which the header backs up. Browsers ignore
 * `frame-ancestors` in a meta tag (and Chromium logs a console error for it on every load); the
 * header and X-Frame-Options carry it.
 */
export const META_CONTENT_SECURITY_POLICY = DIRECTIVES.filter((d) => !d.startsWith('frame-ancestors')).join('; ');

/** Headers every response to the renderer carries, besides the CSP. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};
