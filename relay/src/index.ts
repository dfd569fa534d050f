export { createRelay, type Relay, type RelayOptions } from './relay.js';
export { RelayConfig, type RelayConfigInput } from './config.js';
export {
  DirectoryError,
  effectivePorts,
  type Directory,
  type DirectoryErrorCode,
  type GrantRecord,
  type UserRecord,
  type VmRecord,
} from './directory/directory.js';
export { MemoryDirectory } from './directory/document.js';
export { JsonFileDirectory, DIRECTORY_FILE } from './directory/json-file-directory.js';
export {
  authenticateAgent,
  enrollVm,
  formatAgentCredential,
  hashAgentSecret,
  parseAgentCredential,
  rotateVmCredential,
} from './directory/agent-credential.js';
export type { DataPlaneObserver, Direction, SessionCloseStats, SessionSnapshot } from './data/observer.js';
export type { AgentLink } from './data/agent-registry.js';
export { loadOrCreateSigningKey, SIGNING_KEY_FILE, SIGNING_PUBLIC_KEY_FILE } from './signing-key.js';
export { createRelayLogger } from './logger.js';
