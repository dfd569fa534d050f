#!/usr/bin/env node
// The CLI's entry: V8's compile cache first, so that everything the command loads after it —
// the CLI itself, core, and the npm packages — is compiled once, not on every run. A session
// command of the built CLI runs instead from the whole-CLI script beside it, whose code cache
// also holds the functions the command ran (cached-script.ts); everything else, and every command
// run from source, loads the split modules, so that `airlock --help` loads little.
import { scriptCommand } from './command-word.js';
import { enableCliCompileCache } from './compile-cache.js';

const cacheDir = enableCliCompileCache();
const command = scriptCommand(process.argv.slice(2));
const cached = command === undefined ? undefined : await import('./cached-script.js');
const scriptPath = cached?.scriptBeside(import.meta.url);
if (cached && command !== undefined && scriptPath) cached.runCachedScript({ scriptPath, command, cacheDir });
else await import('./run.js');
