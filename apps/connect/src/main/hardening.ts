import { APP_HOST, APP_SCHEME } from './window.js';
import type { ElectronSeam, WebContentsSeam } from './seam.js';

/** Whether `url` is the app's own page (anything else never loads in a window). */
export function isAppUrl(url: string): boolean {
  try {
    // Compared by parts: for a scheme the URL standard does not know, `origin` is always "null".
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST && !u.username && !u.password;
  } catch {
    return false;
  }
}

/**
 * Links the app may hand to the system browser: a forward on loopback ("open in browser"), and
 * https pages (where to get an RDP client). Nothing else — no file:, no custom schemes.
 */
export function isOpenableExternally(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.username || u.password) return false;
  if (u.protocol === 'https:') return true;
  return u.protocol === 'http:' && (u.hostname === '127.0.0.1' || u.hostname === 'localhost');
}

/**
 * Every web contents the app creates: navigation away from the app and redirects are stopped,
 * new windows are refused (allowed links go to the system browser instead), <webview> is refused.
 */
export function hardenWebContents(contents: WebContentsSeam, openExternal: (url: string) => Promise<void>): void {
  const stay = (e: { preventDefault(): void }, url: string) => {
    if (!isAppUrl(url)) e.preventDefault();
  };
  contents.on('will-navigate', stay);
  contents.on('will-redirect', stay);
  contents.on('will-attach-webview', (e) => e.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    if (isOpenableExternally(url)) void openExternal(url).catch(() => undefined);
    return { action: 'deny' };
  });
}

/** The app asks for no browser permission (camera, notifications, clipboard-read…): all are denied. */
export function denyPermissions(electron: Pick<ElectronSeam, 'session'>): void {
  electron.session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  electron.session.setPermissionCheckHandler(() => false);
}
