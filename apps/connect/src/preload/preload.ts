// Electron's preload for the app window (sandboxed, CommonJS when built): exposes window.airlock
// and nothing else — never ipcRenderer.
import { contextBridge, ipcRenderer } from 'electron';
import { airlockApi } from './airlock-api.js';

contextBridge.exposeInMainWorld('airlock', airlockApi(ipcRenderer));
