// Password-encrypted key files (scrypt + AES-256-GCM): Connect's device key and the
// organisation's root and approver keys share one format.
export * from './key-file.js';
export * from './sealed-box.js';
