import type { WindowOptions } from './seam.js';

/** The app's own origin: its pages come from this privileged scheme, never from file://. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'airlock';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY = `${APP_ORIGIN}/index.html`;

/**
 * The window: the renderer is a web page with no Node and no Electron — context isolation, the
 * Chromium sandbox, no Node integration anywhere (workers, subframes), no <webview>, web security
 * on; the preload alone bridges to main, with named functions.
 */
export function windowOptions(preload: string): WindowOptions {
  return {
    width: 1200,
    height: 800,
    minWidth: 720,
    minHeight: 480,
    show: false,
    title: 'Airlock Connect',
    backgroundColor: '#1e1e1e',
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webviewTag: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  };
}
