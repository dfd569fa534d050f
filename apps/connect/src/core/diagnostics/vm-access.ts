import { performance } from 'node:perf_hooks';
import type { ExplainCheck, SelfExplainReport } from '@airlock/shared';
import type { RelayCredentials } from '../login/login.js';
import { RelayClient } from '../relay/relay-client.js';
import type { RelayFetch } from '../relay/relay-http.js';
import { fail, pass, type CheckRecorder, type CheckResult } from './check-recorder.js';
import type { DoctorCode, DoctorVm } from './doctor-report.js';

export interface AccessAnswer {
  /** The session checks may follow: granted, and the agent online. */
  open: boolean;
  /** Whether the port asked about (if any) may be used. */
  portAllowed: boolean;
}

/**
 * The relay's answer to "may I reach this VM (and port) now": the grant and its end, the port
 * against the VM's policy and the grant, the agent online or offline and since when — the
 * user's own `GET /api/v1/explain`. One call answers the three checks; the first carries its time.
 */
export async function accessChecks(
  rec: CheckRecorder,
  options: {
    credentials: RelayCredentials;
    vm: DoctorVm;
    port?: number;
    httpMs: number;
    fetch?: RelayFetch;
  },
): Promise<AccessAnswer> {
  const { vm, port } = options;
  const scope = { vm: vm.id };
  const client = new RelayClient({
    endpoint: options.credentials.endpoint,
    token: options.credentials.token,
    timeoutMs: options.httpMs,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const started = performance.now();
  const answer = await client.explain(vm.id, port).finally(() => client.close());
  const took = performance.now() - started;
  if (!answer.ok) {
    rec.add(
      'grant',
      fail(
        'relay_error',
        `the relay could not say whether you may use ${vm.id}: ${answer.error.message}`,
        'try again; if it stays, tell your admin',
      ),
      scope,
      took,
    );
    rec.stop('grant', 'the relay did not answer about this VM', vm.id);
    return { open: false, portAllowed: false };
  }
  const report = answer.value;
  learn(vm, report);
  const byName = (name: ExplainCheck['check']) => report.checks.find((c) => c.check === name);

  const grant = byName('grant');
  rec.add('grant', grant ? fromRelay(grant) : missing('grant'), scope, took);
  if (!grant?.ok) {
    rec.stop('grant', `no session can be opened to ${vm.id} without a grant`, vm.id);
    return { open: false, portAllowed: false };
  }
  const agent = byName('agent');
  rec.add('agent', agent ? fromRelay(agent) : missing('agent'), scope);
  // The port is the relay's answer from the VM's policy and the grant, known with the agent
  // offline too: said either way, so both fixes can be asked for at once.
  let portAllowed = true;
  if (port !== undefined) {
    const portCheck = byName('port');
    rec.add('port', portCheck ? fromRelay(portCheck) : missing('port'), { ...scope, port });
    portAllowed = portCheck?.ok === true;
  }
  if (!agent?.ok) {
    rec.stop('agent', `no session reaches ${vm.id} while its agent is offline`, vm.id);
    return { open: false, portAllowed };
  }
  return { open: true, portAllowed };
}

function learn(vm: DoctorVm, report: SelfExplainReport): void {
  vm.granted = report.grant !== undefined;
  if (report.grant?.expiresAt) vm.grantExpiresAt = report.grant.expiresAt;
  if (report.grant) vm.effectivePorts = report.grant.effectivePorts;
  if (report.agent) {
    vm.agentOnline = report.agent.online;
    if (report.agent.since) vm.agentSince = report.agent.since;
  }
}

/** The relay's own words for a check; its codes are the doctor's where they match. */
function fromRelay(c: ExplainCheck): CheckResult {
  if (c.ok) return pass(c.message);
  const code = RELAY_CODES[c.code ?? ''] ?? 'relay_error';
  return fail(code, c.message, c.hint ?? 'ask your admin or helpdesk');
}

const RELAY_CODES: Record<string, DoctorCode> = {
  no_grant: 'no_grant',
  vm_unknown: 'no_grant',
  grant_expired: 'grant_expired',
  port_not_allowed_by_vm: 'port_not_allowed_by_vm',
  port_not_in_grant: 'port_not_in_grant',
  agent_offline: 'agent_offline',
  agent_not_enrolled: 'agent_offline',
};

function missing(check: string): CheckResult {
  return fail(
    'relay_error',
    `the relay’s answer has no ${check} check`,
    'the relay may be older than Connect: tell your admin',
  );
}
