// The one file that touches Electron. Never imported by tests (lint keeps the rest of main/ off
// 'electron'); `npm run desktop` runs it inside the Electron binary.
import { app, BrowserWindow, ipcMain, protocol, safeStorage, session, shell } from 'electron';
import type { ElectronSeam } from './seam.js';

export function loadElectron(): ElectronSeam {
  return {
    app,
    createWindow: (options) => new BrowserWindow(options),
    ipcMain,
    session: {
      setPermissionRequestHandler: (handler) => session.defaultSession.setPermissionRequestHandler(handler),
      setPermissionCheckHandler: (handler) => session.defaultSession.setPermissionCheckHandler(handler),
    },
    protocol,
    shell,
    safeStorage,
    versions: { electron: process.versions.electron, chrome: process.versions.chrome },
  };
}
