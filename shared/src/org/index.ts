// The organisation root (issue 12): anchor, signed objects, chains, revocation lists.
export * from './keys.js';
export * from './anchor.js';
export * from './limits.js';
export * from './objects.js';
export * from './issue.js';
export * from './verify.js';
export * from './crl-keeper.js';
export * from './exchange.js';
export * from './enroll.js';
