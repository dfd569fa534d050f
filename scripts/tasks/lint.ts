import { lint } from './tools.js';

process.exit(lint() ? 0 : 1);
