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
