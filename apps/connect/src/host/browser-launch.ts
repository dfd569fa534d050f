import { join } from 'node:path';
import { writeFileAtomic } from '@airlock/shared';
import { airlockPaths, ensureHome } from '../core/paths.js';
import type { Platform } from '../api/service/platform.js';

/** `page`: the file the browser was sent to (it holds the launch secret): remove it on exit. */
export type BrowserLaunch = { opened: true; page: string } | { opened: false; reason: string; page?: string };

/** Whether a browser can be shown here: a desktop session on Linux, always on macOS and Windows. */
export function hasDisplay(os: NodeJS.Platform, env: NodeJS.ProcessEnv): boolean {
  if (os === 'darwin' || os === 'win32') return true;
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * Opens `url` in the default browser without putting it on a command line: another local user can
 * read any process's arguments (`ps`), and `url` carries the launch secret. So the URL goes into a
 * small page only this user can read (0600, in AIRLOCK_HOME) that sends the browser on, and the
 * browser is started on that file (as Jupyter does).
 */
export async function openInBrowser(
  url: string,
  options: { home: string; platform: Platform; env?: NodeJS.ProcessEnv },
): Promise<BrowserLaunch> {
  const { platform } = options;
  if (!hasDisplay(platform.os, options.env ?? process.env))
    return { opened: false, reason: 'no display (DISPLAY and WAYLAND_DISPLAY are unset)' };
  const file = join(options.home, 'open-airlock.html');
  const href = escapeHtml(url);
  try {
    // On a first run nothing has made the home folder yet.
    await ensureHome(airlockPaths(options.home));
    await writeFileAtomic(
      file,
      `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${href}">` +
        `<title>Airlock</title><p><a href="${href}">Open Airlock</a></p>\n`,
      0o600,
    );
  } catch (e) {
    return {
      opened: false,
      reason: `cannot write ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    };
  }
  const argv =
    platform.os === 'darwin'
      ? ['open', file]
      : platform.os === 'win32'
        ? ['cmd', '/c', 'start', '', file] // '' is start's window title (Node quotes it as "")
        : ['xdg-open', file];
  const launched = await platform.launch(argv);
  return launched.ok
    ? { opened: true, page: file }
    : { opened: false, reason: `${argv[0]} did not start: ${launched.error}`, page: file };
}
