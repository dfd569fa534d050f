import type { RawData, WebSocket } from 'ws';
import type { Logger } from 'pino';
import { AgentToRelay, CloseCode, closeReason, describeZodError, type RelayToAgent } from '@airlock/shared';
import type { AuditRecorder } from '../audit/recorder.js';
import type { AgentPresenceStore, SessionStore } from '../store/types.js';
import type { AgentRegistry } from './agent-registry.js';
import { AgentReports, agentText, type AgentReportBudget } from './agent-reports.js';
import type { Heartbeat } from './heartbeat.js';
import type { SessionPairer } from './session-pairer.js';
import type { OrgView } from '../org/org-view.js';

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
  /** The organisation root: its revocation list goes to the agent; its VM chain is judged for the log. */
  org?: OrgView;
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
  /** Logs and audits the registration with the VM chain's trust, then hands the agent the newest revocation list. */
  const announce = async (hostKeyFingerprint: string, version: string, hostKey: string, vmChain?: string[]) => {
    const trust = deps.org ? await deps.org.vmTrust(vm, hostKey, vmChain) : 'relay-only';
    log.info({ hostKeyFingerprint, version, trust }, 'agent registered');
    audit('agent.register', { hostKeyFingerprint, version, trust });
    const crl = await deps.org?.crl();
    if (crl && ws.readyState === ws.OPEN)
      ws.send(JSON.stringify({ type: 'crl', crl: crl.chain } satisfies RelayToAgent));
  };
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
      const { link, replaced } = deps.registry.register(vm, ws, msg.hostKey, version, agent.credentialId, msg.vmChain);
      if (replaced) {
        log.info('a newer control socket replaces the previous one');
        replaced.ws.close(CloseCode.replaced, 'replaced by a newer connection of the same agent');
      }
      const reply: RelayToAgent = { type: 'registered', vm };
      ws.send(JSON.stringify(reply));
      recordPresence(deps.presence?.markOnline(vm, { hostKeyFingerprint: link.hostKeyFingerprint, version }));
      void announce(link.hostKeyFingerprint, version, msg.hostKey, msg.vmChain).catch((error: unknown) =>
        log.error({ error: (error as Error).message }, 'could not judge the VM chain or send the revocation list'),
      );
      return;
    }
    if (!registered) return protocolError('the first control message must be register');
    if (msg.type === 'vm-chain') {
      if (deps.registry.renewVmChain(vm, ws, msg.vmChain)) log.debug('agent renewed its host key certificate');
      return;
    }
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
