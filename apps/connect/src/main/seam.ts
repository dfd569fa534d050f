/**
 * The part of Electron the main process uses, as plain interfaces: main's logic depends on these,
 * only electron-seam.ts binds them to the real Electron, and the tests bind them to a fake (the
 * Electron binary cannot run here — and tests must never start it).
 */

export interface WebPreferences {
  preload: string;
  contextIsolation: boolean;
  sandbox: boolean;
  nodeIntegration: boolean;
  nodeIntegrationInWorker: boolean;
  nodeIntegrationInSubFrames: boolean;
  webviewTag: boolean;
  webSecurity: boolean;
  allowRunningInsecureContent: boolean;
  experimentalFeatures: boolean;
  navigateOnDragDrop: boolean;
  spellcheck: boolean;
}

export interface WindowOptions {
  width: number;
  height: number;
  minWidth: number;
  minHeight: number;
  show: boolean;
  title: string;
  backgroundColor: string;
  webPreferences: WebPreferences;
}

export interface NavigationEvent {
  preventDefault(): void;
}

/** The web contents of a window (or anything else the app creates). */
export interface WebContentsSeam {
  on(event: 'will-navigate' | 'will-redirect', listener: (e: NavigationEvent, url: string) => void): unknown;
  on(event: 'will-attach-webview', listener: (e: NavigationEvent) => void): unknown;
  /** A new document was loaded in the main frame (the first page, or a reload). */
  on(event: 'did-navigate', listener: () => void): unknown;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
  send(channel: string, ...args: unknown[]): void;
  isDestroyed(): boolean;
}

export interface WindowSeam {
  webContents: WebContentsSeam;
  loadURL(url: string): Promise<void>;
  once(event: 'ready-to-show', listener: () => void): unknown;
  on(event: 'closed', listener: () => void): unknown;
  show(): void;
  focus(): void;
  restore(): void;
  isMinimized(): boolean;
  isDestroyed(): boolean;
}

export interface IpcInvokeEvent {
  /** The frame that invoked: the app's own page, or something that must not be served. */
  senderFrame: { url: string } | null;
}

export interface SafeStorageSeam {
  isEncryptionAvailable(): boolean;
  /** Linux only: which store keeps the key ("basic_text" means none: a fixed key). */
  getSelectedStorageBackend?(): string;
  encryptString(plain: string): Buffer;
  decryptString(encrypted: Buffer): string;
}

export interface ElectronSeam {
  app: {
    requestSingleInstanceLock(): boolean;
    whenReady(): Promise<unknown>;
    quit(): void;
    on(event: 'second-instance' | 'window-all-closed', listener: () => void): unknown;
    on(event: 'before-quit', listener: (e: { preventDefault(): void }) => void): unknown;
    on(event: 'web-contents-created', listener: (e: unknown, contents: WebContentsSeam) => void): unknown;
    getPath(name: 'logs'): string;
  };
  createWindow(options: WindowOptions): WindowSeam;
  ipcMain: {
    handle(channel: string, listener: (event: IpcInvokeEvent, ...args: unknown[]) => Promise<unknown>): void;
  };
  /** The default session's guards: permissions and the app's own protocol. */
  session: {
    setPermissionRequestHandler(
      handler: (contents: unknown, permission: string, callback: (granted: boolean) => void) => void,
    ): void;
    setPermissionCheckHandler(handler: (contents: unknown, permission: string) => boolean): void;
  };
  protocol: {
    registerSchemesAsPrivileged(schemes: Array<{ scheme: string; privileges: Record<string, boolean> }>): void;
    handle(scheme: string, handler: (request: Request) => Response | Promise<Response>): void;
  };
  shell: { openExternal(url: string): Promise<void> };
  safeStorage: SafeStorageSeam;
  versions: { electron?: string; chrome?: string };
}
