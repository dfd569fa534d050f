// Test child for child-reaper.test.ts: starts a long `sleep` that must end with this process,
// prints its pid, then waits to be stopped.
import { spawn } from 'node:child_process';
import { endsWithThisProcess } from './child-reaper.js';

const sleeper = endsWithThisProcess(spawn('sleep', ['300'], { stdio: 'ignore' }));
process.stdout.write(`${sleeper.pid}\n`);
setInterval(() => {}, 1000);
