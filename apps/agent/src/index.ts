export { startAgent, AGENT_VERSION, type RunningAgent, type StartAgentOptions } from './agent.js';
export {
  AgentConfigInput,
  ConfigError,
  configFromEnv,
  mergeConfigInput,
  resolveAgentConfig,
  type AgentConfig,
} from './config.js';
export { ControlLink, type LinkState, type LinkStateEvent } from './control-link.js';
export { checkForward } from './direct-tcpip.js';
export { backoffDelay } from './backoff.js';
export { createAgentLogger } from './logger.js';
export { AgentSshSession, type SshSessionOptions } from './ssh-session.js';
export { resolveOsUser, type OsUser } from './os-user.js';
export { enrollAgent, type EnrollError, type EnrollErrorCode, type EnrollOptions } from './enroll.js';
export { enrollOnFirstStart, type FirstStartOutcome } from './first-start.js';
export {
  defaultStateDir,
  hasEnrollment,
  readEnrollment,
  writeEnrollment,
  STATE_FILES,
  type AgentEnrollment,
} from './state-dir.js';
export { parseRelayUrl, type RelayAddress } from '@airlock/shared';
export { RefusalReporter, type ChannelRefusal } from './refusal-reporter.js';
export { agentStatus, type AgentStatusReport, type StatusCheck } from './status.js';
export { readStatusFile, STATUS_FILE, type AgentStatusFile } from './status-file.js';
