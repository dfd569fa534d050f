import { runBin } from './tools.js';

process.exit(runBin('prettier/bin/prettier.cjs', ['--write', '--log-level=warn', '.']));
