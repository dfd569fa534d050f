import type { RawData, WebSocket } from 'ws';
import type { Logger } from 'pino';
import { AgentToRelay, CloseCode, closeReason, describeZodError, type RelayToAgent } from '@airlock/shared';
import type { AuditRecorder } from '../audit/recorder.js';
import type { AgentRegistry } from './agent-registry.js';
import type { Heartbeat } from './heartbeat.js';
import type { SessionPairer } from './session-pairer.js';

export interface AgentControlDeps {
  registry: AgentRegistry;
  pairer: SessionPairer;
  heartbeat: Heartbeat;
  logger: Logger;
  registerTimeoutMs: number;
  audit?: AuditRecorder;
}

/** Largest control message the relay reads; register and dial-refused are small. */
const MAX_CONTROL_MESSAGE = 16 * 1024;

/**
 * Runs one agent control socket: the first message must be `register {hostKey}` within the
 * timeout; afterwards the agent may report `dial-refused`. Anything malformed closes the socket
 * with CloseCode.protocolError and says what was wrong.
 */
export function runAgentControl(
  ws: WebSocket,
  agent: { vm: string; credentialId?: string; source?: string },
  deps: AgentControlDeps,
): void {
  const { vm } = agent;
  const log = deps.logger.child({ vm });
  const audit = (type: string, data: Record<string, unknown>) =>
    void deps.audit?.record({
      type,
      actor: `agent:${vm}`,
      outcome: 'info',
      ...(agent.source ? { source: agent.source } : {}),
      data,
    });
  let registered = false;
  const protocolError = (why: string) => {
    log.warn({ why }, 'agent control protocol error');
    ws.close(CloseCode.protocolError, closeReason(why));
  };
  const registerTimer = setTimeout(
    () => protocolError(`no register message within ${deps.registerTimeoutMs / 1000} s`),
    deps.registerTimeoutMs,
  );

  deps.heartbeat.watch(ws, { onDead: () => log.warn('agent control socket stopped answering pings; terminating') });
  ws.on('error', (error) => log.debug({ error: error.message }, 'agent control socket error'));

  ws.on('message', (data: RawData, isBinary: boolean) => {
    deps.heartbeat.touch(ws);
    const text = Buffer.isBuffer(data) ? data : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]);
    if (isBinary || text.length > MAX_CONTROL_MESSAGE)
      return protocolError('control messages are JSON text frames of at most 16 KiB');
    let json: unknown;
    try {
      json = JSON.parse(text.toString('utf8'));
    } catch {
      return protocolError('control message is not valid JSON');
    }
    const parsed = AgentToRelay.safeParse(json);
    if (!parsed.success) return protocolError(`bad control message: ${describeZodError(parsed.error)}`);
    const msg = parsed.data;

    if (msg.type === 'register') {
      if (registered) return protocolError('already registered on this socket');
      registered = true;
      clearTimeout(registerTimer);
      const { link, replaced } = deps.registry.register(vm, ws, msg.hostKey, msg.version, agent.credentialId);
      if (replaced) {
        log.info('a newer control socket replaces the previous one');
        replaced.ws.close(CloseCode.replaced, 'replaced by a newer connection of the same agent');
      }
      const reply: RelayToAgent = { type: 'registered', vm };
      ws.send(JSON.stringify(reply));
      log.info({ hostKeyFingerprint: link.hostKeyFingerprint, version: msg.version }, 'agent registered');
      audit('agent.register', { hostKeyFingerprint: link.hostKeyFingerprint, version: msg.version });
      return;
    }
    if (!registered) return protocolError('the first control message must be register');
    if (msg.type === 'channel-refused') {
      void deps.audit?.record({
        type: 'session.channel_refused',
        actor: `agent:${vm}`,
        outcome: 'failure',
        sid: msg.sessionId,
        data: { channel: msg.channel, ...(msg.target ? { target: msg.target } : {}), reason: msg.reason },
      });
      return;
    }
    void deps.audit?.record({
      type: 'session.deny',
      actor: `agent:${vm}`,
      outcome: 'failure',
      sid: msg.sessionId,
      data: { reason: `agent refused: ${msg.reason}` },
    });
    if (!deps.pairer.refuse(msg.sessionId, vm, msg.reason))
      log.debug({ sid: msg.sessionId }, 'dial-refused for a session that is not pending (ignored)');
  });

  ws.on('close', (code, reason) => {
    clearTimeout(registerTimer);
    const wasCurrent = deps.registry.unregister(vm, ws);
    log.info({ code, reason: reason.toString() }, 'agent control socket closed');
    if (registered) audit('agent.disconnect', { code, reason: reason.toString() });
    if (wasCurrent) deps.pairer.agentOffline(vm);
  });
}
