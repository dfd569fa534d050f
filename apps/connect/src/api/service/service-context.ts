import type { Result } from '@airlock/shared';
import type { ConfigStore } from '../../core/identity/config-store.js';
import type { SecretCache } from '../../core/identity/secret-cache.js';
import type { UserKeyStore } from '../../core/identity/user-key-store.js';
import type { Logger } from '../../core/logger.js';
import type { SessionJournal } from '../../core/logging/session-journal.js';
import type { LoginService } from '../../core/login/login-service.js';
import type { ConnectError } from '../../core/next-action.js';
import type { AirlockPaths } from '../../core/paths.js';
import type { RelayFetch } from '../../core/relay/relay-http.js';
import type { VmSession } from '../../core/session/types.js';
import type { EventHub } from './event-hub.js';
import type { Platform } from './platform.js';

/** What every part of the service shares: Connect's files, the login, the events, the platform. */
export interface ServiceContext {
  paths: AirlockPaths;
  store: ConfigStore;
  keys: UserKeyStore;
  login: LoginService;
  events: EventHub;
  log: Logger;
  platform: Platform;
  /** Where the unlock key may be remembered for `user` (keytar in browser mode, safeStorage in Electron). */
  secretCacheFor(user: string | undefined): SecretCache;
  /** An end-to-end session to `vm`, logging in again (and waiting for the person) when needed. */
  openSession(vm: string): Promise<Result<VmSession, ConnectError>>;
  /** Where sessions' starts and ends are recorded (the log folder's sessions.jsonl). */
  journal: SessionJournal;
  /** For tests: how requests reach the relay. */
  fetch?: RelayFetch;
}
