import type { RawData, WebSocket } from 'ws';
import type { Logger } from 'pino';
import { AgentToRelay, CloseCode, closeReason, describeZodError, type RelayToAgent } from '@airlock/shared';
import type { AuditRecorder } from '../audit/recorder.js';
import type { AgentPresenceStore, SessionStore } from '../store/types.js';
import type { AgentRegistry } from './agent-registry.js';
import { AgentReports, agentText, type AgentReportBudget } from './agent-reports.js';
import type { Heartbeat } from './heartbeat.js';
import type { SessionPairer } from './session-pairer.js';

export interface AgentControlDeps {
  registry: AgentRegistry;
  pairer: SessionPairer;
  heartbeat: Heartbeat;
  logger: Logger;
  registerTimeoutMs: number;
  audit?: AuditRecorder;
  /** Looked up before an agent's report is recorded: it must be about a session of its own VM. */
  sessions: Pick<SessionStore, 'get'>;
  /** Reports per VM that reach the audit log. */
  reportBudget: AgentReportBudget;
  /** Where "online since / offline since" is kept for `explain` (written in the background). */
  presence?: Pick<AgentPresenceStore, 'markOnline' | 'markOffline'>;
}

/** Largest control message the relay reads; register and dial-refused are small. */
const MAX_CONTROL_MESSAGE = 16 * 1024;

/**
 * Runs one agent control socket: the first message must be `register {hostKey}` within the
 * timeout; afterwards the agent may report `dial-refused` and `channel-refused` (see
 * AgentReports for what of that reaches the audit log). Anything malformed closes the socket
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
  const recordPresence = (p: Promise<void> | undefined) =>
    void p?.catch((error: unknown) =>
      log.error({ error: (error as Error).message }, 'could not record the agent link state'),
    );
  const reports = new AgentReports(vm, {
    sessions: deps.sessions,
    pairer: deps.pairer,
    logger: deps.logger,
    budget: deps.reportBudget,
    ...(deps.audit ? { audit: deps.audit } : {}),
  });
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
      const version = agentText(msg.version);
      const { link, replaced } = deps.registry.register(vm, ws, msg.hostKey, version, agent.credentialId);
      if (replaced) {
        log.info('a newer control socket replaces the previous one');
        replaced.ws.close(CloseCode.replaced, 'replaced by a newer connection of the same agent');
      }
      const reply: RelayToAgent = { type: 'registered', vm };
      ws.send(JSON.stringify(reply));
      log.info({ hostKeyFingerprint: link.hostKeyFingerprint, version }, 'agent registered');
      audit('agent.register', { hostKeyFingerprint: link.hostKeyFingerprint, version });
      recordPresence(deps.presence?.markOnline(vm, { hostKeyFingerprint: link.hostKeyFingerprint, version }));
      return;
    }
    if (!registered) return protocolError('the first control message must be register');
    reports
      .handle(msg)
      .catch((error: unknown) =>
        log.error({ sid: msg.sessionId, error: (error as Error).message }, 'agent report failed'),
      );
  });

  ws.on('close', (code, reason) => {
    clearTimeout(registerTimer);
    reports.close();
    const wasCurrent = deps.registry.unregister(vm, ws);
    log.info({ code, reason: reason.toString() }, 'agent control socket closed');
    if (registered) audit('agent.disconnect', { code, reason: reason.toString() });
    if (wasCurrent) deps.pairer.agentOffline(vm);
    // Offline once no link of this VM is left: a replaced link's close leaves the VM online, and
    // a link the relay dropped (credential revoked) was already taken out of the registry.
    if (registered && !deps.registry.get(vm))
      recordPresence(
        deps.presence?.markOffline(
          vm,
          `control link closed (code ${code}${reason.length ? `: ${agentText(reason.toString())}` : ''})`,
        ),
      );
  });
}
