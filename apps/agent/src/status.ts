import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { curlPin, processAlive, parseRelayUrl } from '@airlock/shared';
import { ConfigError, resolveAgentConfig, type AgentConfig } from './config.js';
import { readStatusFile, STATUS_FILE, type AgentStatusFile } from './status-file.js';
import { fail, pass, type StatusCheck } from './status-check.js';
import type { AgentStatusReport } from './status-report.js';
import { relayCheck } from './status-relay.js';

export type { StatusCheck } from './status-check.js';
export type { AgentStatusReport } from './status-report.js';

/**
 * What `airlock-agent status` finds: the enrollment, the relay (reached, presenting the pinned
 * key, its clock), the running agent as its status file tells (control link, sessions), and for
 * each port of the policy whether something listens on 127.0.0.1. Nothing is sent to the relay
 * but a `GET /healthz` over the pinned connection; the credential is never used.
 */
export async function agentStatus(input: {
  config: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
}): Promise<AgentStatusReport> {
  const checks: StatusCheck[] = [];
  const report = (extra: Partial<AgentStatusReport>): AgentStatusReport => ({
    at: new Date().toISOString(),
    ok: checks.every((c) => c.ok),
    checks,
    sessions: [],
    ports: [],
    ...extra,
  });
  let config: AgentConfig;
  try {
    config = resolveAgentConfig(input.config, input.env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    checks.push(
      fail(
        'enrollment',
        `not enrolled, or not configured: ${e.message}`,
        'enroll the agent: airlock-agent enroll <relay-url> --token-file <file>; or pass the --config / --state-dir it runs with, as its user (usually root)',
      ),
    );
    return report({});
  }
  const relayUrl = parseRelayUrl(config.relayUrl);
  const https = relayUrl.ok ? relayUrl.value.https : config.relayUrl;
  const enrollment = {
    vm: config.vmId,
    relayUrl: https,
    relayPin: curlPin(config.relayPin),
    stateDir: config.stateDir,
  };
  checks.push(
    pass(
      'enrollment',
      `enrolled for VM "${config.vmId}" with ${https} (pin ${enrollment.relayPin}), state in ${config.stateDir}`,
    ),
  );

  const relay = await relayCheck(https, config.relayPin, input.timeoutMs);
  checks.push(...relay.checks);

  const statusFile = join(config.stateDir, STATUS_FILE);
  const running = await runningAgent(statusFile, config);
  checks.push(...running.checks);

  const ports = running.status?.policyPorts ?? config.policy.allowedPorts;
  const probed = await Promise.all(ports.map((p) => probePort(p, Math.min(input.timeoutMs, 2000))));
  if (ports.length === 0) checks.push(pass('port', 'the policy allows no ports (shell and file transfer only)'));
  for (const p of probed)
    checks.push(
      p.listening
        ? pass('port', `port ${p.port}: something listens on 127.0.0.1:${p.port}`, p.port)
        : fail(
            'port',
            `port ${p.port}: ${p.detail}; users forwarding it will get no connection`,
            'start the service in the VM (on 127.0.0.1 or all addresses), or take the port out of the policy and the VM’s ports on the relay',
            p.port,
          ),
    );

  return report({
    enrollment,
    relay: relay.summary,
    agent: {
      running: running.alive,
      statusFile,
      ...(running.status
        ? { pid: running.status.pid, version: running.status.version, startedAt: running.status.startedAt }
        : {}),
    },
    ...(running.alive && running.status ? { link: running.status.link } : {}),
    sessions: running.alive ? (running.status?.sessions ?? []) : [],
    ports: probed,
  });
}

async function runningAgent(
  statusFile: string,
  config: AgentConfig,
): Promise<{ checks: StatusCheck[]; alive: boolean; status?: AgentStatusFile }> {
  const startIt = 'start it: systemctl start airlock-agent (journalctl -u airlock-agent says why it stopped)';
  const read = await readStatusFile(statusFile);
  if (!read.ok)
    return {
      checks: [
        fail(
          'agent',
          read.message,
          read.message.includes('EACCES')
            ? 'run airlock-agent status as the user the agent runs as (usually root: sudo airlock-agent status)'
            : startIt,
        ),
      ],
      alive: false,
    };
  const status = read.status;
  if (!status)
    return {
      checks: [fail('agent', `no agent has run with this state dir (no ${statusFile})`, startIt)],
      alive: false,
    };
  if (status.link.state === 'closed')
    return {
      checks: [fail('agent', `the agent is not running: it stopped at ${status.updatedAt}`, startIt)],
      alive: false,
      status,
    };
  if (!processAlive(status.pid))
    return {
      checks: [
        fail(
          'agent',
          `the agent is not running: its process ${status.pid} is gone without stopping (last status ${status.updatedAt}); it may have crashed`,
          startIt,
        ),
      ],
      alive: false,
      status,
    };
  const other =
    status.vm !== config.vmId || status.relayUrl !== config.relayUrl
      ? ` — note: it runs for VM "${status.vm}" with ${status.relayUrl}, not this configuration`
      : '';
  const checks = [
    pass('agent', `running as process ${status.pid} since ${status.startedAt} (version ${status.version})${other}`),
  ];
  const link = status.link;
  const last = link.lastError ? `; it last went down at ${link.lastError.at}: ${link.lastError.reason}` : '';
  if (link.state === 'online') checks.push(pass('link', `control link to the relay is up since ${link.since}${last}`));
  else
    checks.push(
      fail(
        'link',
        `control link to the relay is down since ${link.since} (${link.state})${link.lastError ? `: ${link.lastError.reason}` : ''}` +
          (link.nextAttemptAt ? `; next attempt at ${link.nextAttemptAt}` : ''),
        linkHint(link.lastError?.reason),
      ),
    );
  const sessions = status.sessions;
  checks.push(
    pass(
      'sessions',
      sessions.length === 0
        ? 'no sessions open'
        : `${sessions.length} session(s) open: ${sessions.map((s) => `${s.sid} (${s.user}, since ${s.since})`).join('; ')}`,
    ),
  );
  return { checks, alive: true, status };
}

function linkHint(reason: string | undefined): string {
  if (reason === 'unauthorized')
    return 'the relay refused this agent’s credential (revoked?): the admin runs airlock-relay vm new-token <vm>, then airlock-agent enroll --force';
  if (reason === 'tls-pin-mismatch')
    return 'the relay presented another TLS key: a TLS-inspecting proxy, or a replaced relay key (then enroll again)';
  return 'the agent retries by itself; check that the relay runs and that this VM reaches it (the relay check above)';
}

/** Whether something accepts a TCP connection on 127.0.0.1:port (closed at once, nothing sent). */
function probePort(port: number, timeoutMs: number): Promise<{ port: number; listening: boolean; detail: string }> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    const done = (listening: boolean, detail: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ port, listening, detail });
    };
    const timer = setTimeout(() => done(false, `no answer on 127.0.0.1:${port} within ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => done(true, 'listening'));
    socket.once('error', (e: NodeJS.ErrnoException) =>
      done(
        false,
        e.code === 'ECONNREFUSED'
          ? `nothing listens on 127.0.0.1:${port}`
          : `127.0.0.1:${port}: ${e.code ?? e.message}`,
      ),
    );
  });
}
