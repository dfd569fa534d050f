import { performance } from 'node:perf_hooks';
import type { SessionResponse } from '@airlock/shared';
import type { SessionJournal } from '../logging/session-journal.js';
import type { Logger } from '../logger.js';
import { sessionUserKey, type RelayCredentials } from '../login/login.js';
import { RelayClient } from '../relay/relay-client.js';
import type { RelayFetch } from '../relay/relay-http.js';
import type { SessionStep, VmSessionError } from '../session/types.js';
import { judgeVmHostKey, orgSessionRequest, type SessionTrust } from '../session/org-trust.js';
import { connectVmSession } from '../session/vm-session-connect.js';
import { fail, pass, type CheckRecorder, type CheckResult } from './check-recorder.js';
import type { DoctorCheckName, DoctorVm } from './doctor-report.js';
import { probeForward, type ProbeOutcome } from './forward-probe.js';

export interface SessionCheckOptions {
  credentials: RelayCredentials;
  vm: DoctorVm;
  /** The ports to connect to through the session (the one asked about, or every granted one). */
  ports: (session: SessionResponse) => number[];
  httpMs: number;
  sessionMs: number;
  probeMs: number;
  journal?: SessionJournal;
  log?: Logger;
  fetch?: RelayFetch;
}

/**
 * A real session, as `airlock shell` opens one, step by step — the ticket, the data socket the
 * relay pairs with the agent's, the SSH handshake, the VM's host key against the one the relay
 * registered, our key accepted — then a real forwarded connection to each port. Returns the
 * session id it used, if the relay issued one.
 */
export async function sessionChecks(rec: CheckRecorder, options: SessionCheckOptions): Promise<string | undefined> {
  const { vm, credentials } = options;
  const scope = { vm: vm.id };
  let issued: SessionResponse | undefined;
  const client = new RelayClient({
    endpoint: credentials.endpoint,
    token: credentials.token,
    timeoutMs: options.httpMs,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const ticket = await rec.run(
    'ticket',
    async () => {
      // The same request a real session makes: under an organisation root it carries this login's chain.
      const created = await client.createSession(vm.id, await orgSessionRequest(credentials.org));
      if (!created.ok)
        return fail(
          'ticket_refused',
          `the relay issued no session ticket for ${vm.id}: ${created.error.message}`,
          'the checks above say why, if they can; else tell your admin with this message',
        );
      issued = created.value;
      const ports = issued.ports.length ? `ports ${issued.ports.join(', ')}` : 'no ports';
      return pass(`the relay issued session ${issued.sessionId} (a ticket for ${ports})`, {
        sessionId: issued.sessionId,
      });
    },
    scope,
  );
  if (ticket.status === 'fail' || !issued) {
    await client.close();
    rec.stop('ticket', 'no session without a ticket', vm.id);
    return undefined;
  }
  const session = issued;
  vm.sessionId = session.sessionId;
  // Judged as a real session judges it, before any data socket: under an organisation root the
  // host key must be certified for this VM, and the report says which trust the session ran under.
  const trust = await client.closeIfThrows(() => judgeVmHostKey(credentials.org, vm.id, session));
  if (!trust.ok) {
    await client.close();
    rec.add(
      'host_key',
      fail('vm_not_certified', trust.error.message, 'tell your admin: the relay may have been tampered with', {
        sessionId: session.sessionId,
      }),
      scope,
    );
    rec.stop('host_key', 'nothing is sent to a VM whose host key the organisation did not certify', vm.id);
    return session.sessionId;
  }

  const started = performance.now();
  const reached = new Map<SessionStep, number>();
  const opened = await connectVmSession({
    endpoint: credentials.endpoint,
    // As a real session does: its data socket on the connection the ticket came over.
    relayConnections: client.handOverConnections(),
    session,
    user: credentials.user,
    userKey: sessionUserKey(credentials),
    timeoutMs: options.sessionMs,
    purpose: 'doctor',
    trust: trust.value,
    onStep: (step) => reached.set(step, performance.now() - started),
    ...(options.log ? { logger: options.log } : {}),
    ...(options.journal ? { journal: options.journal } : {}),
  });
  const failedAt = recordSteps(rec, session, reached, opened.ok ? undefined : opened.error, vm, trust.value);
  if (!opened.ok) {
    rec.stop(failedAt ?? 'ssh_auth', 'the session did not open', vm.id);
    return session.sessionId;
  }
  vm.hostKey = session.hostKeyFingerprint;
  try {
    for (const port of options.ports(session)) {
      const outcome = await probeForward(opened.value, port, options.probeMs);
      const result = forwardResult(vm.id, port, outcome, options.probeMs);
      vm.ports.push({
        port,
        reachable: outcome.reachable,
        connectMs: outcome.ms,
        ...(result.code ? { code: result.code } : {}),
      });
      rec.add('forward', result, { ...scope, port }, outcome.ms);
    }
  } finally {
    await opened.value.close();
  }
  return session.sessionId;
}

/** The session's steps, each passed with the time since the one before, up to the one that failed. */
function recordSteps(
  rec: CheckRecorder,
  session: SessionResponse,
  reached: Map<SessionStep, number>,
  error: VmSessionError | undefined,
  vm: DoctorVm,
  trust: SessionTrust,
): DoctorCheckName | undefined {
  const sid = { sessionId: session.sessionId };
  const scope = { vm: vm.id };
  const at = (step: SessionStep) => reached.get(step);
  const stages: Array<{ check: DoctorCheckName; done: boolean; from: number; to?: number; ok: () => CheckResult }> = [
    {
      check: 'data_socket',
      done: at('paired') !== undefined,
      from: 0,
      to: at('paired'),
      ok: () =>
        pass(
          `the relay accepted the ticket (${ms(at('socket_open'))}) and paired the data socket with ${vm.id}’s agent (${ms(at('paired'))})`,
          sid,
        ),
    },
    {
      check: 'ssh',
      done: at('ssh_connected') !== undefined,
      from: at('paired') ?? 0,
      to: at('ssh_connected'),
      ok: () => pass('the SSH handshake with the agent is done (end-to-end encrypted through the relay)', sid),
    },
    {
      check: 'host_key',
      done: at('host_key_verified') !== undefined,
      from: at('ssh_connected') ?? 0,
      to: at('host_key_verified'),
      ok: () =>
        pass(
          trust === 'org-root'
            ? `${vm.id} presented the host key your organisation certified for it (${session.hostKeyFingerprint}; trust: organisation root)`
            : `${vm.id} presented the host key the relay registered for it (${session.hostKeyFingerprint}; trust: relay only — no organisation root pinned)`,
          sid,
        ),
    },
    {
      check: 'ssh_auth',
      done: at('authenticated') !== undefined,
      from: at('host_key_verified') ?? 0,
      to: at('authenticated'),
      ok: () => pass('the agent accepted this login’s key', sid),
    },
  ];
  for (const stage of stages) {
    if (stage.done) {
      rec.add(stage.check, stage.ok(), scope, (stage.to ?? stage.from) - stage.from);
      continue;
    }
    if (!error) return undefined;
    rec.add(stage.check, stepFailure(stage.check, error, session), scope);
    return stage.check;
  }
  return undefined;
}

function stepFailure(check: DoctorCheckName, error: VmSessionError, session: SessionResponse): CheckResult {
  const sid = { sessionId: session.sessionId };
  const message = error.message;
  switch (error.code) {
    case 'ticket_rejected':
      return fail(
        'ticket_rejected',
        message,
        'tickets live 60 s and are checked against the relay’s and the VM’s clocks: see the clock line above and try again',
        sid,
      );
    case 'agent_unavailable':
      return fail(
        'agent_unavailable',
        message,
        'the VM may be restarting: try again in a minute; else the VM’s admin (airlock-agent status)',
        sid,
      );
    case 'agent_refused':
      return fail(
        'agent_refused',
        message,
        'the VM’s admin: airlock-agent status, and the agent’s log for this session id',
        sid,
      );
    case 'host_key_mismatch':
      return fail(
        'host_key_mismatch',
        message,
        'do not use this VM now: tell your admin and helpdesk, with this session id (someone may be intercepting)',
        sid,
      );
    case 'auth_failed':
      return fail('auth_failed', message, 'log in again (airlock login); if it stays, tell your admin', sid);
    case 'protocol_error':
      return fail(
        'protocol_error',
        message,
        'tell your admin, with this session id: the agent or something on the path is broken',
        sid,
      );
    default:
      return fail(
        check === 'data_socket' ? 'data_socket_failed' : 'ssh_failed',
        message,
        'try again; if it stays, tell your admin with this session id (the relay and agent logs carry it)',
        sid,
      );
  }
}

function forwardResult(vm: string, port: number, outcome: ProbeOutcome, waitMs: number): CheckResult {
  if (outcome.reachable) {
    const how =
      outcome.how === 'answered'
        ? 'the service answered'
        : outcome.how === 'closed'
          ? 'the service took the connection and closed it'
          : `the service took the connection and said nothing within ${Math.round(waitMs / 1000)} s`;
    return pass(`port ${port} in ${vm}: a real connection through the agent works (${how})`);
  }
  if ('connectFailed' in outcome) {
    if (outcome.connectFailed === 'ECONNREFUSED')
      return fail(
        'service_not_listening',
        `nothing is listening on port ${port} inside ${vm}: the agent’s connection to 127.0.0.1:${port} was refused`,
        'the service in the VM is not running, or listens on another address: start it listening on 127.0.0.1 ' +
          '(or all addresses); the VM’s admin sees the same with airlock-agent status',
      );
    if (outcome.connectFailed === 'ETIMEDOUT')
      return fail(
        'service_timeout',
        `port ${port} inside ${vm} did not answer the agent in time (ETIMEDOUT)`,
        'the service hangs, or a firewall inside the VM drops loopback connections: the VM’s admin',
      );
    return fail(
      'forward_failed',
      `the agent could not connect to port ${port} inside ${vm} (${outcome.connectFailed})`,
      'the VM’s admin: the agent’s log says more',
    );
  }
  const e = outcome.error;
  if (e.code === 'port_not_allowed')
    return fail(
      'port_refused_by_agent',
      `${vm}’s agent refused port ${port}: its own policy does not allow it, though the relay lists it for the VM (${e.message})`,
      `the VM’s admin: add ${port} to the agent’s policy.allowedPorts, or remove it from the VM’s ports on the relay`,
    );
  return fail(
    'forward_failed',
    `a connection to port ${port} in ${vm} failed: ${e.message}`,
    'try again; if it stays, tell your admin',
  );
}

function ms(value: number | undefined): string {
  return value === undefined ? '?' : `${Math.round(value)} ms`;
}
