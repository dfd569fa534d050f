export * from './pin.js';
export * from './mint.js';
export * from './pinned-connect.js';
export * from './pinned-agents.js';
export * from './peer.js';
