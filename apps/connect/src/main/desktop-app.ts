import type { Logger } from '../core/logger.js';
import { createDispatch } from '../api/dispatch.js';
import { ConnectService } from '../api/service/connect-service.js';
import { appProtocolResponse, APP_SCHEME_PRIVILEGES } from './app-protocol.js';
import { denyPermissions, hardenWebContents } from './hardening.js';
import { forwardEvents, pageScopedDispatch, wireIpc } from './ipc.js';
import { SafeStorageSecretCache } from './safe-storage-cache.js';
import type { ElectronSeam, WindowSeam } from './seam.js';
import { APP_ENTRY, APP_SCHEME, windowOptions } from './window.js';

const QUIT_CLOSE_DEADLINE_MS = 10_000;

export interface DesktopOptions {
  /** AIRLOCK_HOME. */
  home: string;
  /** The built renderer (index.html, app.js, app.css). */
  rendererDir: string;
  /** The built preload script (CommonJS: sandboxed preloads cannot be modules). */
  preload: string;
  log: Logger;
  logFolder: string | null;
  /** How long a quit waits for open sessions to close before it quits anyway (default 10 s). */
  quitCloseDeadlineMs?: number;
}

export interface DesktopApp {
  /** Resolves once the app has a window (or has quit because another instance runs). */
  started: Promise<'window' | 'another-instance'>;
  service?: ConnectService;
}

/**
 * The desktop app's main process: one instance; the renderer from the app's own scheme under the
 * CSP; every web contents hardened; no permission granted; the Connect API over IPC (checked) with
 * its events sent to the window; OS integration (the system browser for allowed links, safeStorage
 * for a remembered unlock). Everything Electron is reached through `electron` (the seam).
 */
export function runDesktopApp(electron: ElectronSeam, options: DesktopOptions): DesktopApp {
  const { app } = electron;
  if (!app.requestSingleInstanceLock()) {
    // Another instance has the window; it is told (second-instance) and shows itself.
    app.quit();
    return { started: Promise.resolve('another-instance') };
  }
  electron.protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES]);
  const service = new ConnectService({
    home: options.home,
    log: options.log,
    logFolder: options.logFolder,
    versions: electron.versions,
    secretCacheFor: (home, user) => new SafeStorageSecretCache(electron.safeStorage, home, user),
  });
  const openExternal = (url: string) => electron.shell.openExternal(url);
  let window: WindowSeam | undefined;

  app.on('web-contents-created', (_e, contents) => hardenWebContents(contents, openExternal));
  app.on('second-instance', () => {
    if (!window || window.isDestroyed()) return;
    if (window.isMinimized()) window.restore();
    window.focus();
  });
  app.on('window-all-closed', () => app.quit());
  // Every quit — the window closed, the menu's Quit, Cmd-Q, a stop signal — closes the service
  // first, so open terminals and forwards end with a close the agent and relay record, not a
  // reset; the quit is held until it is done, then made again. One close, however many quits are
  // asked for meanwhile (Cmd-Q twice, or Quit and then the window closed): a second close would
  // find the parts already closing and return at once.
  let closing: Promise<void> | undefined;
  let serviceClosed = false;
  app.on('before-quit', (event) => {
    if (serviceClosed) return;
    event.preventDefault();
    // A session whose network went silent can hold its close for minutes (TCP retries): the
    // person asked to quit, so after the deadline the app quits anyway (the relay and agent then
    // see a reset, as before this handler existed).
    const deadlineMs = options.quitCloseDeadlineMs ?? QUIT_CLOSE_DEADLINE_MS;
    closing ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        options.log.warn({ deadlineMs }, 'open sessions did not close in time; quitting anyway');
        resolve();
      }, deadlineMs);
      void service.close().finally(() => {
        clearTimeout(timer);
        resolve();
      });
    }).then(() => {
      serviceClosed = true;
      app.quit();
    });
  });

  const started = app.whenReady().then(async () => {
    denyPermissions(electron);
    electron.protocol.handle(APP_SCHEME, (request) => appProtocolResponse(request, options.rendererDir));
    window = electron.createWindow(windowOptions(options.preload));
    wireIpc(electron.ipcMain, pageScopedDispatch(createDispatch(service), window.webContents));
    void service.warmUp();
    // Also hardened through web-contents-created; this does not depend on the order of the two.
    hardenWebContents(window.webContents, openExternal);
    const stopEvents = forwardEvents((l) => service.onEvent(l), window.webContents);
    window.on('closed', stopEvents);
    const shown = window;
    window.once('ready-to-show', () => shown.show());
    await window.loadURL(APP_ENTRY);
    return 'window' as const;
  });
  return { started, service };
}
