export * from './config.js';
export * from './messages.js';
export * from './websocket-stream.js';
export * from './channel-bridge.js';
export * from './keys.js';
export * from './session-release.js';
export * from './session-start.js';
export * from './close-reason.js';
