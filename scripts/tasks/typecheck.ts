import { typecheck } from './tools.js';

process.exit(typecheck() ? 0 : 1);
