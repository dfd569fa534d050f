// `npm run desktop`: builds Connect (renderer, main process, preload) and starts the desktop app
// in Electron. Electron's binary is not downloaded by `npm install` here (its install script is not
// allowed to run, see package.json allowScripts); on a machine that may download it, fetch it once
// with `node node_modules/electron/install.js`.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundlePrograms, DESKTOP_DIR } from './bundle.js';
import { passOnStopSignals } from './pass-on-stop-signals.js';
import { repoRoot } from './tools.js';

const electronDir = join(repoRoot, 'node_modules', 'electron');
const pathFile = join(electronDir, 'path.txt');
const binary = existsSync(pathFile) ? join(electronDir, 'dist', readFileSync(pathFile, 'utf8').trim()) : undefined;
if (!binary || !existsSync(binary)) {
  console.error(
    'npm run desktop: the Electron binary is not installed (npm does not run its download here).\n' +
      '  On a machine that may download it (~100 MB, from GitHub): node node_modules/electron/install.js\n' +
      '  then: npm run desktop. Meanwhile `./airlock ui` opens the same app in your browser.',
  );
  process.exit(1);
}
await bundlePrograms();
const app = spawn(binary, [join(DESKTOP_DIR, 'main.mjs')], { stdio: 'inherit', env: process.env });
app.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
// Electron's graceful quit (which closes the app's sessions, desktop-app.ts) is one shot: a second
// stop signal kills it. It hears each stop request once (see passOnStopSignals).
passOnStopSignals(app, (signal, handler) => process.on(signal, handler));
