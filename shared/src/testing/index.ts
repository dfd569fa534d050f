// Test support only (`@airlock/shared/testing`): never import it from production code.
export * from './ssh-pair.js';
export * from './tcp-services.js';
export * from './raw-peer.js';
export * from './test-clock.js';
export * from './org.js';
export * from './cut-proxy.js';
export * from './child-reaper.js';
export * from './within.js';
export * from './teardown.js';
export * from './private-shell.js';
export * from './resumable-ssh-pair.js';
