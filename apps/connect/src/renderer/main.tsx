import { createRoot } from 'react-dom/client';
import { App } from './app.js';
import { connectOverWebSocket } from './bridge/ws-bridge.js';

// In Electron the preload has set window.airlock; in a browser the host's WebSocket provides it.
if (!window.airlock) window.airlock = connectOverWebSocket(window);

createRoot(document.getElementById('root')!).render(<App />);
