#!/usr/bin/env node
// `airlock` as an npm bin: registers tsx (the repo runs TypeScript directly) and starts the CLI.
// The repo-root `airlock` script does the same and also finds Node >= 22.12 for you.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
