// `npm run desktop`: builds Connect (renderer, main process, preload) and starts the desktop app
// in Electron. Electron's binary is not downloaded by `npm install` here (its install script is not
// allowed to run, see package.json allowScripts); on a machine that may download it, fetch it once
// with `node node_modules/electron/install.js`.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundlePrograms, DESKTOP_DIR } from './bundle.js';
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
// In a process group of its own: Electron takes a second stop signal as "die now" (its graceful
// quit is one shot), and a terminal's Ctrl-C would reach it directly besides the one passed on below.
const app = spawn(binary, [join(DESKTOP_DIR, 'main.mjs')], { stdio: 'inherit', env: process.env, detached: true });
app.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
// A stop sent to this task (a terminal's Ctrl-C, and npm's bootstrap passing it on) reaches
// Electron once, which then closes the app's sessions before it quits (desktop-app.ts, before-quit).
let passedOn = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(signal, () => {
    if (passedOn) return;
    passedOn = true;
    app.kill(signal);
  });
