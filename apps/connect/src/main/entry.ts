// The desktop app's main process entry, bundled by `npm run desktop` and run by the Electron
// binary. Everything but binding Electron lives in desktop-app.ts (tested against a fake seam).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { REDACT_PATHS } from '@airlock/shared';
import { airlockHome } from '../core/paths.js';
import { runDesktopApp } from './desktop-app.js';
import { loadElectron } from './electron-seam.js';
import { makeFoldersSync } from '@airlock/shared';

const electron = loadElectron();
const here = dirname(fileURLToPath(import.meta.url));
const logFolder = electron.app.getPath('logs');
makeFoldersSync(logFolder, 0o700);
const log = pino(
  {
    name: 'airlock-desktop',
    level: process.env.AIRLOCK_LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  },
  pino.destination({ dest: join(logFolder, 'airlock-connect.log'), mkdir: true, sync: false }),
);
const home = airlockHome();
runDesktopApp(electron, {
  home,
  rendererDir: join(here, '..', 'renderer'),
  preload: join(here, 'preload.cjs'),
  log,
  logFolder,
}).started.catch((e: unknown) => {
  log.fatal({ error: (e as Error).stack }, 'the app could not start');
  electron.app.quit();
});
