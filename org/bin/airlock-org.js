#!/usr/bin/env node
// Runs the TypeScript CLI through tsx (a workspace dev dependency); needs Node >= 22.12.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv.slice(2));
