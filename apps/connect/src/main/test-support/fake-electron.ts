import { EventEmitter } from 'node:events';
import type {
  ElectronSeam,
  IpcInvokeEvent,
  NavigationEvent,
  SafeStorageSeam,
  WebContentsSeam,
  WindowOptions,
  WindowSeam,
} from '../seam.js';

/** Web contents that record what main did to them and let a test fire their events. */
export class FakeWebContents extends EventEmitter implements WebContentsSeam {
  windowOpenHandler: ((details: { url: string }) => { action: 'deny' }) | undefined;
  sent: Array<[string, unknown[]]> = [];
  destroyed = false;

  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void {
    this.windowOpenHandler = handler;
  }
  send(channel: string, ...args: unknown[]): void {
    this.sent.push([channel, args]);
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  /** Fires a navigation-like event; true if main prevented it. */
  attempt(event: 'will-navigate' | 'will-redirect' | 'will-attach-webview', url = ''): boolean {
    let prevented = false;
    const e: NavigationEvent = { preventDefault: () => (prevented = true) };
    this.emit(event, e, url);
    return prevented;
  }
}

export class FakeWindow extends EventEmitter implements WindowSeam {
  readonly webContents = new FakeWebContents();
  loaded: string[] = [];
  shown = false;
  focused = 0;
  constructor(readonly options: WindowOptions) {
    super();
  }
  async loadURL(url: string): Promise<void> {
    this.loaded.push(url);
  }
  show(): void {
    this.shown = true;
  }
  focus(): void {
    this.focused++;
  }
  restore(): void {}
  isMinimized(): boolean {
    return false;
  }
  isDestroyed(): boolean {
    return false;
  }
}

/** safeStorage stand-in: reversible "encryption" that is not the plain text, and a chosen backend. */
export function fakeSafeStorage(backend: string | undefined, available = true): SafeStorageSeam & { sealed: number } {
  const fake = {
    sealed: 0,
    isEncryptionAvailable: () => available,
    ...(backend ? { getSelectedStorageBackend: () => backend } : {}),
    encryptString: (plain: string) => (fake.sealed++, Buffer.from(`sealed:${Buffer.from(plain).toString('hex')}`)),
    decryptString: (b: Buffer) => {
      const text = b.toString();
      if (!text.startsWith('sealed:')) throw new Error('not sealed by this key');
      return Buffer.from(text.slice(7), 'hex').toString();
    },
  };
  return fake;
}

/** The whole seam, recording: app events to fire, IPC handlers to invoke, windows, external opens. */
export class FakeElectron implements ElectronSeam {
  readonly appEvents = new EventEmitter();
  lockGranted = true;
  quits = 0;
  windows: FakeWindow[] = [];
  ipcHandlers = new Map<string, (event: IpcInvokeEvent, ...args: unknown[]) => Promise<unknown>>();
  permissionRequest: ((c: unknown, p: string, cb: (g: boolean) => void) => void) | undefined;
  permissionCheck: ((c: unknown, p: string) => boolean) | undefined;
  privilegedSchemes: Array<{ scheme: string; privileges: Record<string, boolean> }> = [];
  protocolHandlers = new Map<string, (request: Request) => Response | Promise<Response>>();
  openedExternally: string[] = [];
  safeStorage = fakeSafeStorage('gnome_libsecret');
  versions = { electron: '45.5.0', chrome: '140.0.0.0' };

  app = {
    requestSingleInstanceLock: () => this.lockGranted,
    whenReady: async () => undefined,
    quit: () => void this.quits++,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the seam's overloads, recorded alike
    on: (event: string, listener: (...args: any[]) => void) => this.appEvents.on(event, listener),
    getPath: () => '/tmp/logs',
  };
  createWindow = (options: WindowOptions) => {
    const w = new FakeWindow(options);
    this.windows.push(w);
    return w;
  };
  ipcMain = {
    handle: (channel: string, listener: (event: IpcInvokeEvent, ...args: unknown[]) => Promise<unknown>) => {
      if (this.ipcHandlers.has(channel)) throw new Error(`second handler for ${channel}`);
      this.ipcHandlers.set(channel, listener);
    },
  };
  session = {
    setPermissionRequestHandler: (h: FakeElectron['permissionRequest']) => void (this.permissionRequest = h),
    setPermissionCheckHandler: (h: FakeElectron['permissionCheck']) => void (this.permissionCheck = h),
  };
  protocol = {
    registerSchemesAsPrivileged: (s: FakeElectron['privilegedSchemes']) => void this.privilegedSchemes.push(...s),
    handle: (scheme: string, handler: (request: Request) => Response | Promise<Response>) =>
      void this.protocolHandlers.set(scheme, handler),
  };
  shell = { openExternal: async (url: string) => void this.openedExternally.push(url) };

  /** Calls an IPC channel as a renderer frame at `frameUrl` would. */
  invoke(channel: string, frameUrl: string | null, ...args: unknown[]): Promise<unknown> {
    const handler = this.ipcHandlers.get(channel);
    if (!handler) throw new Error(`no handler for ${channel}`);
    return handler({ senderFrame: frameUrl === null ? null : { url: frameUrl } }, ...args);
  }
}
