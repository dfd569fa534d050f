export * from './result.js';
export * from './wire.js';
export * from './schemas.js';
export * from './login.js';
export * from './fingerprint.js';
export * from './signed-tokens.js';
export * from './logger.js';
export * from './files.js';
