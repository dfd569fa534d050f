import type { AirlockApi } from '../api/contract/index.js';

declare global {
  interface Window {
    /** The Connect API: Electron's preload sets it; in browser mode the WebSocket bridge does. */
    airlock: AirlockApi;
  }
}
