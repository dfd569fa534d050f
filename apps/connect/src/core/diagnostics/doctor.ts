import { performance } from 'node:perf_hooks';
import type { SecretCache } from '../identity/secret-cache.js';
import type { SessionJournal } from '../logging/session-journal.js';
import type { Logger } from '../logger.js';
import type { AirlockPaths } from '../paths.js';
import type { RelayFetch } from '../relay/relay-http.js';
import { CheckRecorder, fail } from './check-recorder.js';
import { DOCTOR_REPORT_VERSION, type DoctorReport, type DoctorVm } from './doctor-report.js';
import { localChecks } from './local-checks.js';
import { loginCheck, type LoginFound } from './login-check.js';
import { relayChecks } from './relay-checks.js';
import { accessChecks } from './vm-access.js';
import { sessionChecks } from './vm-session-checks.js';

export interface DoctorTimeouts {
  /** Each of DNS, TCP and TLS to the relay. */
  networkMs: number;
  /** Each HTTPS request to the relay. */
  httpMs: number;
  /** A session, from the ticket to the agent accepting our key. */
  sessionMs: number;
  /** How long a forwarded connection is watched (above the agent's 3 s connect timeout). */
  probeMs: number;
}

export const DEFAULT_DOCTOR_TIMEOUTS: DoctorTimeouts = {
  networkMs: 5000,
  httpMs: 10_000,
  sessionMs: 20_000,
  probeMs: 5000,
};

export interface DoctorOptions {
  paths: AirlockPaths;
  /** Where this front end remembers the unlock (keytar for the CLI, safeStorage in the app). */
  secretCache: (user: string | undefined) => SecretCache;
  /** One VM, or every VM the user may use. */
  vm?: string;
  /** One port (checked against the VM's policy and the grant, then connected to); else every granted port. */
  port?: number;
  /** The clock: the seam a test fakes to see a skew. */
  now?: () => number;
  journal?: SessionJournal;
  log?: Logger;
  versions: { connect: string };
  platform?: NodeJS.Platform;
  timeouts?: Partial<DoctorTimeouts>;
  fetch?: RelayFetch;
}

/**
 * `airlock doctor`: everything between this machine and a service inside a VM, checked in the
 * order a connection needs it, each check timed and saying what it found and what to do. A
 * chain stops where nothing after a failed check could mean anything (no relay: no login to
 * check; no grant: no session to open), and the report says where. Never prompts and never logs
 * in: it tells. Front ends print or show the report; this computes it.
 */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const now = options.now ?? Date.now;
  const timeouts = { ...DEFAULT_DOCTOR_TIMEOUTS, ...options.timeouts };
  const startedAt = now();
  const started = performance.now();
  const rec = new CheckRecorder();
  const report: Omit<DoctorReport, 'ok' | 'durationMs' | 'checks' | 'stopped'> = {
    version: DOCTOR_REPORT_VERSION,
    startedAt: new Date(startedAt).toISOString(),
    question: {
      ...(options.vm !== undefined ? { vm: options.vm } : {}),
      ...(options.port !== undefined ? { port: options.port } : {}),
    },
    connect: {
      version: options.versions.connect,
      node: process.versions.node,
      platform: `${process.platform} ${process.arch}`,
      home: options.paths.home,
    },
    vms: [],
    sessionIds: [],
  };
  const finish = (): DoctorReport => ({
    ...report,
    ok: rec.ok,
    durationMs: Math.round(performance.now() - started),
    checks: rec.checks,
    stopped: rec.stopped,
  });

  const enrollment = await localChecks(rec, {
    paths: options.paths,
    secretCache: options.secretCache,
    platform: options.platform ?? process.platform,
  });
  if (!enrollment) return finish();

  const net = { now, httpMs: timeouts.httpMs, ...(options.fetch ? { fetch: options.fetch } : {}) };
  const relay = await relayChecks(rec, { enrollment, networkMs: timeouts.networkMs, ...net });
  report.relay = relay.relay;
  if (!relay.reachable) return finish();

  const { login, found } = await loginCheck(rec, { paths: options.paths, enrollment, ...net });
  report.login = login;
  if (!found) return finish();

  const vmIds = options.vm !== undefined ? [options.vm] : found.vms.map((v) => v.id);
  if (vmIds.length === 0) {
    rec.add(
      'grant',
      fail(
        'no_vms',
        `there is no VM you may use yet (as ${login.user})`,
        'ask your admin or helpdesk for access to the VM you need',
      ),
    );
    rec.stop('grant', 'no VM to check');
  }
  for (const id of vmIds) {
    const vm: DoctorVm = { id, ports: [] };
    report.vms.push(vm);
    const sid = await checkVm(rec, vm, found, options, timeouts);
    if (sid) report.sessionIds.push(sid);
  }
  return finish();
}

async function checkVm(
  rec: CheckRecorder,
  vm: DoctorVm,
  found: LoginFound,
  options: DoctorOptions,
  timeouts: DoctorTimeouts,
): Promise<string | undefined> {
  const { port } = options;
  const fetch = options.fetch ? { fetch: options.fetch } : {};
  const access = await accessChecks(rec, {
    credentials: found.credentials,
    vm,
    httpMs: timeouts.httpMs,
    ...(port !== undefined ? { port } : {}),
    ...fetch,
  });
  if (!access.open) return undefined;
  return sessionChecks(rec, {
    credentials: found.credentials,
    vm,
    // A port the relay refuses is not tried: the agent would refuse and report it too.
    ports: (session) => (port === undefined ? session.ports : access.portAllowed ? [port] : []),
    httpMs: timeouts.httpMs,
    sessionMs: timeouts.sessionMs,
    probeMs: timeouts.probeMs,
    ...(options.journal ? { journal: options.journal } : {}),
    ...(options.log ? { log: options.log } : {}),
    ...fetch,
  });
}
