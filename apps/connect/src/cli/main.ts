#!/usr/bin/env node
// The CLI's entry: V8's compile cache first, so that everything the command loads after it —
// the CLI itself, core, and the npm packages — is compiled once, not on every run.
import { enableCliCompileCache } from './compile-cache.js';

enableCliCompileCache();
await import('./run.js');
