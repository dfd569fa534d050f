export { main, buildProgram } from './cli.js';
